"""One sample of the host's statistics in a fixed handful of commands (host/stats.py builds
them): ps for every guest at once, one netstat, one sysctl per pool of the asked disks, and
zpool list plus one sysctl for the host. A source that fails leaves its figures out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from hvd_netconf.host import names, stats
from hvd_netconf.host.backend import CommandFailed, Host

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Guest:
    """A running VM as the sample needs it: what to ask the host about."""

    name: str
    pid: int
    started: float  # epoch seconds: the counters' discontinuity
    memory: int  # bytes it was started with
    wired: bool  # bhyve -S
    disks: Mapping[str, str]  # disk name -> dataset
    nics: Mapping[str, str]  # NIC name -> tap
    restarts: int = 0  # the supervisor's restarts after an exit, since hvd started


@dataclass(frozen=True)
class VmFigures:
    started: float
    restarts: int = 0
    cpu_ms: int | None = None
    cpu_use: float | None = None
    rss: int | None = None
    wired: int = 0
    disks: Mapping[str, stats.DatasetIo] = field(default_factory=dict)
    nics: Mapping[str, tuple[str, stats.IfCounters]] = field(default_factory=dict)


@dataclass(frozen=True)
class HostFigures:
    sysctl: Mapping[str, str]
    pools: Mapping[str, stats.PoolUsage]
    vmm_instances: int


@dataclass(frozen=True)
class Sample:
    taken: float
    vms: Mapping[str, VmFigures]
    interfaces: Mapping[str, stats.IfCounters]
    host: HostFigures | None
    commands: int  # host commands this sample ran (the cost the benchmark watches)


def guest(name: str, pid: int, started: float, memory_mb: int, wired: bool,
          disks: Iterable[str], taps: Sequence[tuple[str, str]], zfs_parent: str,
          restarts: int = 0) -> Guest:
    """A Guest from the supervisor's view of a VM: its disk names and (NIC, tap) pairs."""
    return Guest(name, pid, started, memory_mb << 20, wired,
                 {d: names.disk_dataset(zfs_parent, name, d) for d in disks}, dict(taps),
                 restarts)


class _Runner:
    def __init__(self, host: Host) -> None:
        self.host = host
        self.count = 0

    def read(self, argv: Sequence[str], parse: Callable[[str], T]) -> T | None:
        self.count += 1
        try:
            return parse(self.host.run(argv))
        except CommandFailed as e:  # e.g. ps when no guest is left, rctl without racct
            log.debug("statistics source failed: %s", e)
            return None
        except ValueError as e:
            log.warning("statistics source %s printed what hvd cannot read: %s", argv[0], e)
            return None


def collect(host: Host, guests: Sequence[Guest], *, interfaces: bool = False,
            with_host: bool = False) -> Sample:
    """Figures of these guests (their NICs' counters and, with `interfaces`, every
    interface's), and of the host with `with_host`."""
    run = _Runner(host)
    taken = time.time()
    usage = (run.read(stats.ps_usage([g.pid for g in guests]), stats.parse_ps_usage)
             if guests else None) or {}
    counters = (run.read(stats.netstat_interfaces(), stats.parse_netstat)
                if interfaces or any(g.nics for g in guests) else None) or {}
    io: dict[str, stats.DatasetIo] = {}
    for pool in sorted({ds.split("/")[0] for g in guests for ds in g.disks.values()}):
        io.update(run.read(stats.sysctl_datasets(pool), stats.parse_dataset_kstats) or {})
    vms: dict[str, VmFigures] = {}
    for g in guests:
        u = usage.get(g.pid)
        vms[g.name] = VmFigures(
            started=g.started, restarts=g.restarts,
            cpu_ms=round(u.cpu_seconds * 1000) if u else None,
            cpu_use=u.pcpu if u else None, rss=u.rss_bytes if u else None,
            wired=g.memory if g.wired else 0,
            disks={d: io[ds] for d, ds in g.disks.items() if ds in io},
            nics={n: (tap, counters[tap]) for n, tap in g.nics.items() if tap in counters})
    figures = None
    if with_host:
        sysctl = run.read(stats.sysctl_host(), stats.parse_sysctl) or {}
        pools = run.read(stats.zpool_list(), stats.parse_zpool_list) or {}
        figures = HostFigures(sysctl, pools, len(host.vmm_instances()))
    return Sample(taken, vms, counters, figures, run.count)
