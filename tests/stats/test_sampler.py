"""The sampler's rings and tiers, on a host whose ps output is written as ps(1) prints it, and
the stats-history setting."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hvd_netconf.config import Settings, from_mapping, history_tiers
from hvd_netconf.stats.collect import Guest
from hvd_netconf.stats.sampler import POINT_FIELDS, Ring, Sampler


def test_history_tiers():
    assert history_tiers("5s:1h,1m:1d") == ((5, 720), (60, 1440))
    assert history_tiers("") == ()
    assert history_tiers(Settings().stats_history) == ((5, 720), (60, 1440))
    for bad, words in (("5s", "PERIOD:SPAN"), ("5x:1h", "bad duration"),
                       ("7s:1h,1m:1d", "not a multiple"), ("1h:1m", "less than one")):
        with pytest.raises(ValueError, match=words):
            from_mapping({"stats-history": bad})


def test_a_ring_keeps_the_newest_points_oldest_first():
    ring = Ring(3)
    assert ring.points() == [] and ring.newest() == 0.0
    for t in range(5):
        ring.add((float(t),) * len(POINT_FIELDS))
    assert [p[0] for p in ring.points()] == [2.0, 3.0, 4.0]
    assert ring.newest() == 4.0


class FakeHost:
    """ps prints one guest whose CPU time grows by a second per call."""

    name = "fake"
    simulated = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str]) -> str:
        self.calls.append(tuple(argv))
        assert argv[0] == "ps"
        return f"   42   0:{len(self.calls):02d}.00  1024   5.0\n"

    def vmm_instances(self) -> set[str]:
        return set()


def test_tiers_take_every_nth_sample():
    host = FakeHost()
    guests = [Guest("web", 42, 0.0, 1 << 30, False, {}, {})]
    sampler = Sampler(host, lambda known: list(guests), [(5, 4), (10, 2)])
    for _ in range(5):
        sampler.sample()
    assert len(host.calls) == 5  # one ps per sample, whatever the number of VMs
    period, fine = sampler.history("web")
    assert period == 5 and [p[1] for p in fine] == [2000.0, 3000.0, 4000.0, 5000.0]
    assert fine[0][2] == 1024 * 1024  # rss in bytes
    period, coarse = sampler.history("web", 6)
    assert period == 10 and [p[1] for p in coarse] == [3000.0, 5000.0]
    assert sampler.history("nosuch") == (5, [])
    guests.clear()
    sampler.sample()  # a stopped VM's history stays while the tiers still span its points
    assert len(sampler.history("web")[1]) == 4 and len(host.calls) == 5  # no ps for no VM
