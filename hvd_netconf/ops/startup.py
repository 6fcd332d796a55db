"""The :startup capability (RFC 6241 §8.7): copy-config to startup saves a configuration
(validated in full, as running is), delete-config removes it (both send a
netconf-config-change for startup), get-config and lock name it like the other datastores.
copy-config from startup to running or candidate is the ordinary copy; hvd boots from
startup when `boot-from = "startup"` (ops/boot.py).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.committer import publish_config_change
from hvd_netconf.edit.changes import changed_entries
from hvd_netconf.errors import RpcErrors
from hvd_netconf.namespaces import CAP_PREFIX
from hvd_netconf.schema.validate import validate
from hvd_netconf.store.datastore import new_config_root
from hvd_netconf.store.startup import Startup

CAP_STARTUP = f"{CAP_PREFIX}startup:1.0"

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
    publish_config_change(server.notifications, info, "startup", pairs)


def delete_startup(server: Any, info: SessionInfo) -> None:
    """delete-config of startup: the saved copy goes; deleting none is no error."""
    server.locks.check_writable("startup", info.id)
    store = startup_store(server)
    old = store.load()
    if store.delete():
        publish_config_change(server.notifications, info, "startup",
                              changed_entries(None, _NONE.get, _NONE.get, old,
                                              new_config_root()))
