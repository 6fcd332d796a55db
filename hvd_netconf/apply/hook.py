"""The bridge from a commit to the host: changed entries -> plan -> engine, with an undo.

The transactions layer calls `server.apply_changes(old_root, new_root, keys)` before it writes
running; this module builds that callable. Entries are looked up through the datastores'
indexes when the roots are theirs, so a one-entry commit costs O(1) lookups, not a walk of
10,000 VMs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

from lxml import etree

from hvd_netconf.apply.engine import Engine, render
from hvd_netconf.apply.plan import Plan, build_plan
from hvd_netconf.edit.diff import diff_keys, entries
from hvd_netconf.errors import RpcErrors
from hvd_netconf.host import constraints
from hvd_netconf.keys import Key

log = logging.getLogger("hvd.apply")

Lookup = Callable[[Key], "etree._Element | None"]
ApplyChanges = Callable[[etree._Element, etree._Element, Sequence[Key]], Callable[[], None]]


def _lookup(server: Any, root: etree._Element) -> Lookup:
    for ds in (server.datastores.running, server.datastores.candidate):
        if root is ds.root:
            return ds.get
    return entries(root).get


def plan_for(server: Any, old_root: etree._Element, new_root: etree._Element,
             keys: Sequence[Key]) -> Plan:
    """The host plan for a change; raises what the host would refuse (host.constraints) and the
    plan's refusals (disk shrink …) before anything runs."""
    new, old = _lookup(server, new_root), _lookup(server, old_root)
    refusals = constraints.check(server.host, new_root, keys, new, old, base=old_root)
    if refusals:
        raise RpcErrors(refusals)
    return build_plan(diff_keys(keys, old, new),
                      zfs_parent=server.settings.zfs_parent, vms=server.supervisor, after=new)


def journal_path(server: Any) -> str:
    """Where the engine records the undo of a commit's host steps until the commit is durable."""
    return os.path.join(server.datastores.state_dir, "host-undo.jsonl")


def make_apply_changes(server: Any) -> ApplyChanges:
    """The hook; its `settled()` tells the engine the commit is durable (crash journal gone)."""
    engine = Engine(server.host, server.supervisor, journal=journal_path(server),
                    mark=lambda: int(server.datastores.history.last_id))

    def apply_changes(old_root: etree._Element, new_root: etree._Element,
                      keys: Sequence[Key]) -> Callable[[], None]:
        plan = plan_for(server, old_root, new_root, keys)
        if plan.steps and log.isEnabledFor(logging.INFO):  # render only what is logged
            log.info("applying %d host step(s)%s:\n%s", len(plan.steps),
                     " on the SIMULATED host" if server.host.simulated else "", render(plan))
        return engine.execute(plan)

    apply_changes.settled = engine.settled  # type: ignore[attr-defined]
    return apply_changes
