"""Samples kept in the daemon, so a client can ask for a VM's recent history without an external
database (stats-history in hvd.conf, docs/statistics.md).

One thread takes a sample of every running VM each base period (the finest tier's) in the fixed
handful of host commands of collect.py, and keeps per VM one ring per tier: every sample in the
finest, every Nth in the coarser ones. Counters are cumulative, so a coarser tier needs no
averaging: a rate is the difference of two points over their time. A ring is a flat array of
floats, POINT_FIELDS per point, so 1,000 VMs with the default tiers hold about 120 MB at most.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from array import array
from collections.abc import Callable, MutableMapping, Sequence

from hvd_netconf.host.backend import Host
from hvd_netconf.stats.collect import Guest, Sample, VmFigures, collect

log = logging.getLogger(__name__)

# What one point holds; NaN where the source gave nothing (ps found no process).
POINT_FIELDS = ("time", "cpu-time", "resident-memory", "read-octets", "write-octets",
                "in-octets", "out-octets")
Point = tuple[float, ...]
GuestSource = Callable[[MutableMapping[tuple[str, int], Guest]], list[Guest]]


class Ring:
    """The newest `size` points, oldest first when read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data = array("d", bytes(8 * size * len(POINT_FIELDS)))
        self._next = 0
        self._count = 0

    def add(self, point: Point) -> None:
        width = len(POINT_FIELDS)
        self._data[self._next * width:(self._next + 1) * width] = array("d", point)
        self._next = (self._next + 1) % self.size
        self._count = min(self._count + 1, self.size)

    def points(self) -> list[Point]:
        width = len(POINT_FIELDS)
        first = (self._next - self._count) % self.size
        return [tuple(self._data[i * width:(i + 1) * width])
                for i in ((first + k) % self.size for k in range(self._count))]

    def newest(self) -> float:
        """The newest point's time (0: empty)."""
        if not self._count:
            return 0.0
        return self._data[((self._next - 1) % self.size) * len(POINT_FIELDS)]


def point(taken: float, f: VmFigures) -> Point:
    nan = math.nan
    return (taken,
            float(f.cpu_ms) if f.cpu_ms is not None else nan,
            float(f.rss) if f.rss is not None else nan,
            float(sum(io.nread for io in f.disks.values())),
            float(sum(io.nwritten for io in f.disks.values())),
            float(sum(c.in_octets for _tap, c in f.nics.values())),
            float(sum(c.out_octets for _tap, c in f.nics.values())))


class Sampler:
    def __init__(self, host: Host, guests: GuestSource,
                 tiers: Sequence[tuple[int, int]]) -> None:
        if not tiers:
            raise ValueError("a sampler needs at least one tier")
        self.host = host
        self.tiers = tuple(tiers)
        self._guests = guests
        self._known: dict[tuple[str, int], Guest] = {}
        self._rings: dict[str, list[Ring]] = {}
        self._ticks = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_cost = 0.0  # seconds the last sample took (tools/bench/stats.py)
        self.last: Sample | None = None

    @property
    def known(self) -> MutableMapping[tuple[str, int], Guest]:
        """Each running (VM, pid)'s Guest, read from its configuration once per start; a <get>
        of statistics shares it (stats/state.py)."""
        return self._known

    @property
    def period(self) -> int:
        return self.tiers[0][0]

    def sample(self) -> Sample:
        """Take one sample of every running VM and keep it."""
        began = time.perf_counter()
        guests = self._guests(self._known)
        live = {(g.name, g.pid) for g in guests}
        for key in [k for k in list(self._known) if k not in live]:  # a <get> may add meanwhile
            self._known.pop(key, None)
        sample = collect(self.host, guests)
        horizon = sample.taken - max(period * count for period, count in self.tiers)
        with self._lock:
            for name, figures in sample.vms.items():
                rings = self._rings.get(name)
                if rings is None:
                    rings = self._rings[name] = [Ring(count) for _p, count in self.tiers]
                p = point(sample.taken, figures)
                for (period, _count), ring in zip(self.tiers, rings, strict=True):
                    if self._ticks % (period // self.period) == 0:
                        ring.add(p)
            for name in [n for n, r in self._rings.items() if r[0].newest() < horizon]:
                del self._rings[name]  # nothing left of it in any tier
            self._ticks += 1
            self.last = sample
        self.last_cost = time.perf_counter() - began
        return sample

    def history(self, vm: str, period: int | None = None) -> tuple[int, list[Point]]:
        """The points of the tier with this period (the finest one that is at least it; None:
        the finest), oldest first, and that tier's period."""
        index = 0
        if period is not None:
            index = next((i for i, (p, _c) in enumerate(self.tiers) if p >= period),
                         len(self.tiers) - 1)
        with self._lock:
            rings = self._rings.get(vm)
            points = rings[index].points() if rings else []
        return self.tiers[index][0], points

    # -- the thread ----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stats-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10.0)

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            try:
                self.sample()
            except Exception:  # the last-resort boundary of this thread: keep sampling
                log.exception("statistics sample failed")
            due += self.period
            if due < time.monotonic():  # a sample took longer than a period: skip, not pile up
                due = time.monotonic() + self.period
