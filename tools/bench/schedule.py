"""The snapshot scheduler's passes (issue 19, item 2) over N VMs on the sim.

Starts hvd in this process under a temporary root with the whole daemon's wiring
(`wire_components`: sim host apply, supervisor, the scheduler thread), creates N VMs of one
1 GiB sparse disk each with one edit-config, commits a host-wide policy of 24 hourlies, then
moves the scheduler's injected clock and times `run_pass()` (what the thread runs) for:

- the first pass: one `zfs list` of every VM's snapshots and one `zfs snapshot -r` per VM;
- an idle pass in the same slot: the `zfs list` alone, nothing due;
- a pass 24 hours later: one take per VM, one prune per VM (a `zfs list` of the VM and a
  `zfs destroy -r`), once 24 hourlies each exist.

Each figure is one pass's wall time, with the per-VM share. Sim commands run in-process, so
the figures are hvd's own cost plus the sim's bookkeeping, not a real pool's. Usage:

    python tools/bench/schedule.py [--vms 10 100]
"""

from __future__ import annotations

import argparse
import os
import time

from hv_cli import rpcs
from inproc import sim_daemon

from hvd_netconf.namespaces import VM
from hvd_netconf.ops.snapshot_schedule import SnapshotScheduler

HOUR = 3600.0
T0 = 1796317500.0  # 2026-12-03T17:05Z


def config(count: int) -> list[rpcs.El]:
    disk = rpcs.el("disk", rpcs.leaf("name", "d0"), rpcs.leaf("size", "1G"))
    entries = [rpcs.entry("vm", f"vm{i:05d}", disk) for i in range(count)]
    policy = rpcs.el("snapshot-schedule", rpcs.leaf("hourly", "24"), xmlns=VM)
    return [rpcs.config_tree("vm", *entries), policy]


def timed(scheduler: SnapshotScheduler, label: str, count: int, expect: int) -> None:
    t0 = time.perf_counter()
    done = scheduler.run_pass()
    ms = (time.perf_counter() - t0) * 1000
    assert len(done) == expect, (label, len(done), expect)
    print(f"  {label:<34} {ms:8.1f} ms   {ms / count:6.2f} ms per VM")


def measure(count: int) -> None:
    with sim_daemon(config(count)) as (running, _sock):
        scheduler = running.server.snapshot_scheduler
        assert scheduler is not None
        now = [T0]
        scheduler.clock = lambda: now[0]
        print(f"{count} VMs:")
        timed(scheduler, "first pass (take N)", count, count)
        timed(scheduler, "idle pass (list only)", count, 0)
        for hour in range(1, 24):
            now[0] = T0 + hour * HOUR
            scheduler.run_pass()
        now[0] = T0 + 24 * HOUR
        timed(scheduler, "pass at 24 kept (take N, prune N)", count, 2 * count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, nargs="+", default=[10, 100])
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine, shared)")
    for count in args.vms:
        measure(count)


if __name__ == "__main__":
    main()
