"""The :startup capability (RFC 6241 §8.7): copy-config to startup saves a configuration
(validated in full, as running is), delete-config removes it (both send a
netconf-config-change for startup), get-config and lock name it like the other datastores.
copy-config from startup to running or candidate is the ordinary copy; hvd boots from
startup when `boot-from = "startup"` (ops/boot.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.edit.changes import changed_entries, entry_target, operation
from hvd_netconf.errors import RpcErrors
from hvd_netconf.namespaces import CAP_PREFIX
from hvd_netconf.notify import events
from hvd_netconf.ops.registry import OPERATIONS
from hvd_netconf.schema.validate import validate
from hvd_netconf.store.datastore import new_config_root
from hvd_netconf.store.startup import Startup

CAP_STARTUP = f"{CAP_PREFIX}startup:1.0"
OPERATIONS.add_capability(CAP_STARTUP)

_NONE: dict[Any, Any] = {}


def startup_store(server: Any) -> Startup:
    return Startup(server.settings.root, server.settings.wire_limits.xml)


def startup_root(server: Any) -> etree._Element:
    """The saved configuration (an empty one when there is none)."""
    return startup_store(server).load()


def save_startup(server: Any, info: SessionInfo, config: etree._Element) -> None:
    """copy-config with target startup: locks, NACM writes and full validation first, so a
    refused copy leaves the saved startup as it was."""
    server.locks.check_writable("startup", info.id)
    store = startup_store(server)
    old = store.load()
    pairs = changed_entries(None, _NONE.get, _NONE.get, old, config)
    server.nacm.authorize_write(info, pairs.values(), old)
    errors = validate(server.schema, config, None, "full")
    if errors:
        raise RpcErrors(errors)
    store.save(config)
    _notify(server, info, pairs)


def delete_startup(server: Any, info: SessionInfo) -> None:
    """delete-config of startup: the saved copy goes; deleting none is no error."""
    server.locks.check_writable("startup", info.id)
    store = startup_store(server)
    old = store.load()
    if store.delete():
        _notify(server, info, changed_entries(None, _NONE.get, _NONE.get, old,
                                              new_config_root()))


def _notify(server: Any, info: SessionInfo, pairs: Mapping[Any, Any]) -> None:
    """netconf-config-change for datastore startup (RFC 6470), one edit per changed entry."""
    bus = server.notifications
    if bus is None or not pairs:
        return
    kinds = {"create": "create", "delete": "delete", "modify": "replace"}
    edits = [(entry_target(k, p[1] if p[1] is not None else p[0]), kinds[operation(p)])
             for k, p in sorted(pairs.items())]
    who = events.changed_by(info)
    bus.publish(lambda: events.config_change(who, "startup", edits))
