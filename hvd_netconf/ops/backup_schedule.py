"""Scheduled backups: a thread that backs each VM with a backup-schedule up once per period,
then applies its retention on the target (hvd-vm.yang backup-schedule).

A VM is due when the target holds no backup of it made since the start of the current period
(UTC, the same slots as scheduled snapshots, host/zfs_schedule.py), so after downtime a missed
period is backed up once. The backup is backup-vm's own (ops/backups.py): incremental from
the newest backup, full after `full-every` incremental ones; retention is backups.prune. Each
backup is a backup-taken notification (with its error when it failed: it is tried again at
the next pass), each deletion a backup-pruned one. The clock is injected: tests move it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.host import specs
from hvd_netconf.host import zfs_schedule as zs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops import backups
from hvd_netconf.ops.periodic import Periodic
from hvd_netconf.ops.registry import ServerView
from hvd_netconf.ops.transactions import components

log = logging.getLogger("hvd.backup-schedule")

Publish = Callable[[etree._Element], None]
HVD_SESSION = 0  # the jobs the scheduler runs are hvd's own, not a session's
_TIME = re.compile(rf"{backups.PREFIX}(\d{{4}}-\d\d-\d\dT\d\d\.\d\d\.\d\dZ)(-\d+)?")


def made_at(name: str) -> float | None:
    """When a backup was made, from its name (`hvd-backup-2026-12-03T08.30.00Z`)."""
    m = _TIME.fullmatch(name)
    if m is None:
        return None
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H.%M.%SZ").replace(tzinfo=UTC).timestamp()


def due(period: str, now: float, held: list[backups.Held]) -> bool:
    """No backup on the target since the start of the period's current slot."""
    start = zs.slot_start(period, now).timestamp()
    return not any((t := made_at(b.name)) is not None and t >= start for b in held)


def wants_full(held: list[backups.Held], full_every: int) -> bool:
    """A full backup when the newest ones are `full_every` incremental ones in a row."""
    run = 0
    for b in reversed(held):
        if not b.bases:
            break
        run += 1
    return run >= full_every


def event(kind: str, **leaves: str | None) -> etree._Element:
    ev = etree.Element(qn(VM, kind), nsmap=default_ns(VM))
    for key, value in leaves.items():
        if value is not None:
            etree.SubElement(ev, qn(VM, key)).text = value
    return ev


class BackupScheduler(Periodic[list[str]]):
    """_look returns what it did, as `backup VM NAME`, `prune VM NAME` or `failed VM`."""

    interval = 60.0
    name = "backup-schedule"

    def __init__(self, server: ServerView, publish: Publish,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.server = server
        self.publish = publish
        self.clock = clock

    def _look(self) -> list[str]:
        _schema, dss = components(self.server)
        vms = dss.running.root.find(qn(VM, "vms"))
        tag = qn(VM, "backup-schedule")  # only the VMs that have one are read
        schedules = [(spec.name, spec.backup_schedule) for spec in
                     (specs.read_vm(el) for el in (vms if vms is not None else ())
                      if el.find(tag) is not None)
                     if spec.backup_schedule is not None]
        done: list[str] = []
        now = self.clock()
        for vm, sched in schedules:
            try:
                t = backups.target_named(self.server, sched.target)
                held = backups.held(t, vm)
                if not due(sched.period, now, held):
                    continue
                made = backups.backup(self.server, HVD_SESSION, vm, sched.target,
                                      full=wants_full(held, sched.full_every), now=now)
            except (RpcError, CommandFailed, OSError) as e:
                why = e.message if isinstance(e, RpcError) else str(e)
                log.warning("scheduled backup of VM %s to %s failed: %s", vm, sched.target, why)
                self.publish(event("backup-taken", vm=vm, target=sched.target, error=why))
                done.append(f"failed {vm}")
                continue
            self.publish(event("backup-taken", vm=vm, target=sched.target, backup=made.name,
                               base=made.base))
            done.append(f"backup {vm} {made.name}")
            try:
                gone = backups.prune(self.server, t, vm, sched.keep)
            except (RpcError, CommandFailed, OSError) as e:
                log.warning("retention of VM %s on %s failed: %s", vm, sched.target, e)
                continue
            for name in gone:
                self.publish(event("backup-pruned", vm=vm, target=sched.target, backup=name))
                done.append(f"prune {vm} {name}")
        return done
