"""The snapshot scheduler: a thread that takes and prunes each VM's scheduled snapshots.

The policy is configuration (hvd-vm snapshot-schedule, per VM over the host-wide one), read
through host/specs.py; what is due and what to prune is host/zfs_schedule.py's pure answer
to the clock and one `zfs list` of every VM's snapshots. Taking and destroying are
snapshots.py's own (`take`, `destroy`), so a scheduled snapshot is tagged, listed and guarded
like one from snapshot-vm. Each snapshot taken or pruned is a snapshot-taken or
snapshot-pruned notification. The clock is injected: tests move it and wake the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.errors import RpcError
from hvd_netconf.host import names, specs, zfs
from hvd_netconf.host import zfs_schedule as zs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops import snapshots
from hvd_netconf.store import Datastores

log = logging.getLogger("hvd.snapshot-schedule")

Publish = Callable[[etree._Element], None]

# A policy committed while nothing was scheduled is seen within this long.
IDLE_WAKE = 300.0


@dataclass(frozen=True)
class Action:
    """One step of a pass: take or prune one snapshot of one VM."""

    verb: str  # "take" or "prune"
    vm: str
    snapshot: zs.Scheduled


def event(kind: str, vm: str, snap: zs.Scheduled) -> etree._Element:
    """The hvd-vm snapshot-taken / snapshot-pruned notification body."""
    ev = etree.Element(qn(VM, kind), nsmap=default_ns(VM))
    for key, value in (("vm", vm), ("name", snap.name), ("period", snap.period)):
        etree.SubElement(ev, qn(VM, key)).text = value
    return ev


class SnapshotScheduler:
    """Wakes at the next slot of any kept period (at most IDLE_WAKE apart), then takes each
    due slot with one `zfs snapshot -r` per VM and prunes beyond the counts. One pass at a
    time, each VM's steps under the server lock, so a commit never sees half of one."""

    def __init__(self, host: Host, datastores: Datastores, lock: threading.RLock, zfs_parent: str,
                 publish: Publish, clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.datastores = datastores
        self.lock = lock
        self.zfs_parent = zfs_parent
        self.publish = publish
        self.clock = clock
        self._wake = threading.Event()
        self._stopping = False
        self._pass = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="snapshot-schedule", daemon=True)
        self.next_wake: float | None = None
        self.passes = 0  # passes finished, for whoever waits on one

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10.0)

    def wake(self) -> None:
        """Run a pass now (the clock may have moved)."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            try:
                self.run_pass()
            except Exception:  # the thread's last resort: log, keep the schedule alive
                log.exception("snapshot schedule pass failed")
            now = self.clock()
            delay = IDLE_WAKE if self.next_wake is None else self.next_wake - now
            self._wake.wait(min(max(delay, 1.0), IDLE_WAKE))
            self._wake.clear()

    def _plan(self, now: float) -> list[Action]:
        """The pass's steps from running's policies and one listing of the VMs' snapshots."""
        root = self.datastores.running.root
        default = specs.read_snapshot_schedule(root.find(qn(VM, "snapshot-schedule")))
        vms = root.find(qn(VM, "vms"))
        policies = {spec.name: spec.snapshot_schedule.over(default)
                    for spec in map(specs.read_vm, vms if vms is not None else ())}
        wakes = [w for c in policies.values() if (w := zs.next_wake(c, now)) is not None]
        was_scheduling, self.next_wake = self.next_wake is not None, min(wakes) if wakes else None
        if self.next_wake is None and not was_scheduling:
            return []  # no policy, now or at the last pass: the host is not asked anything
        listed = zs.parse_tagged(self.host.run(
            zs.list_tagged(names.vms_dataset(self.zfs_parent))))
        actions = []
        for vm, counts in policies.items():
            existing = listed.get(names.vm_dataset(self.zfs_parent, vm), [])
            taken = zs.due(counts, now, existing)
            actions += [Action("take", vm, s) for s in taken]
            actions += [Action("prune", vm, s) for s in zs.prune(counts, existing + taken)]
        return actions

    def run_pass(self) -> list[Action]:
        """Take what is due and prune what is beyond the counts, now; the steps done."""
        with self._pass:
            with self.lock:
                actions = self._plan(self.clock())
            done = []
            for action in actions:
                with self.lock:
                    if self._step(action):
                        done.append(action)
            self.passes += 1
            return done

    def _step(self, action: Action) -> bool:
        vm, snap = action.vm, action.snapshot
        if self.datastores.running.get(("vm", vm)) is None:
            return False  # deleted since the plan
        vm_ds = names.vm_dataset(self.zfs_parent, vm)
        try:
            if action.verb == "take":
                snapshots.take(self.host, self.datastores, vm_ds, snap.name,
                               description=f"scheduled {snap.period}", policy=snap.period)
            else:
                listed = zfs.parse_snapshots(self.host.run(zfs.list_snapshots(vm_ds)))
                snapshots.destroy(self.host, vm, vm_ds, listed, snap.name)
        except (CommandFailed, RpcError) as exc:
            log.warning("scheduled snapshot: cannot %s %s@%s: %s", action.verb, vm_ds,
                        snap.name, exc)
            return False
        self.publish(event("snapshot-taken" if action.verb == "take" else "snapshot-pruned",
                           vm, snap))
        return True
