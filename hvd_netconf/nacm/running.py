"""/nacm as configuration: the rules in running are the rules in force.

The store keeps ietf-netconf-acm's /nacm as the singleton entry ("nacm", "nacm")
(ROOT/config/nacm.xml). Every write of running goes through the Committer, which calls
`check` before it writes (what the YANG types cannot say: one rule type per rule, path
prefixes that resolve) and `reload` right after, so a commit that changes the rules is
enforced from the next operation on. At start `load_stored` uses the stored rules, or stops
the start: hvd never falls back to other rules than the ones configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lxml import etree

from hvd_netconf.errors import RpcError, plain_path
from hvd_netconf.keys import Key, entry_file
from hvd_netconf.nacm.model import parse_config
from hvd_netconf.store.errors import StoreError

if TYPE_CHECKING:
    from hvd_netconf.nacm.access import Nacm
    from hvd_netconf.schema.nodes import Schema
    from hvd_netconf.store import Datastores
    from hvd_netconf.store.datastore import Datastore

NACM_KEY: Key = ("nacm", "nacm")


def check(nacm: Nacm, changes: Mapping[Key, etree._Element | None]) -> None:
    """Raise invalid-value (nothing written yet) if a changed /nacm cannot be enforced."""
    el = changes.get(NACM_KEY)
    if el is not None:
        parse_config(el, nacm.modules)


def reload(nacm: Nacm, running: Datastore, changes: Mapping[Key, Any]) -> None:
    """After a durable write of running: enforce its /nacm (none: hvd's default rules)."""
    if NACM_KEY in changes:
        nacm.load(running.get(NACM_KEY))


def load_stored(nacm: Nacm, schema: Schema, datastores: Datastores) -> None:
    """At start, once the datastores are loaded: the stored rules, or a StoreError naming
    the file."""
    nacm.attach_schema(schema)
    try:
        nacm.load(datastores.running.get(NACM_KEY))
    except RpcError as exc:
        where = f" at {plain_path(exc.path)}" if exc.path else ""
        raise StoreError(f"the NACM rules cannot be enforced: {exc.message}{where}",
                         file=entry_file(datastores.root_dir, NACM_KEY)) from None
