"""Booting from startup (`boot-from = "startup"`): at start, before any client connects,
running becomes the saved startup configuration through the one write path of running, so
the host follows it and the change is in the commit history. Without a saved startup hvd
keeps running as it is and says so; an invalid startup stops hvd from starting."""

from __future__ import annotations

import logging
from typing import Any

from hvd_netconf.edit.changes import changed_entries
from hvd_netconf.ops.startup import startup_store
from hvd_netconf.ops.transactions import committer
from hvd_netconf.schema.validate import validate

log = logging.getLogger(__name__)

_NONE: dict[Any, Any] = {}


def boot_from_startup(server: Any) -> None:
    store = startup_store(server)
    if not store.exists():
        log.warning("boot-from startup, but no startup configuration was saved "
                    "(copy-config to startup): running is kept")
        return
    new_root = store.load()
    errors = validate(server.schema, new_root, None, "full")
    if errors:
        raise ValueError(f"the startup configuration {store.path} is not valid: "
                         + "; ".join(e.message for e in errors))
    dss = server.datastores
    pairs = changed_entries(None, _NONE.get, _NONE.get, dss.running.root, new_root)
    changes = {key: after for key, (_before, after) in pairs.items()}
    with server.lock:
        if changes:
            committer(server).write(None, changes, new_root, "copy-config",
                                    comment="boot from startup")
    log.info("booted from startup: %d entries changed in running", len(changes))
