"""The engine on the netd path: netd changes are journaled with their undo, and a commit that a
crash cut short is undone through netd at the next start (apply/engine.py recover)."""

import copy

import pytest

from hvd_netconf.apply.engine import Engine, recover
from hvd_netconf.apply.plan import Interfaces, build_plan
from hvd_netconf.edit.diff import diff, entries
from hvd_netconf.host.netd import Netd
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.sim.netd import StandinNetd


@pytest.fixture
def sim(tmp_path):
    host = SimHost(tmp_path / "root")
    server = StandinNetd(host, tmp_path / "netd.sock").start()
    netd = Netd(server.path, timeout=5.0)
    yield host, server, netd
    netd.close()
    server.stop()


def test_a_cut_short_commit_is_undone_through_netd(sim, cfg, tmp_path):
    host, server, netd = sim
    before = copy.deepcopy(host.state()["interfaces"])
    new = cfg.config([cfg.network("dmz", physical_interface="em1", vlan=100, fib=1)])
    plan = build_plan(diff(None, new), zfs_parent="zroot/hv", after=entries(new).get,
                      via=Interfaces(netd=True))
    journal = str(tmp_path / "host-undo.jsonl")
    Engine(host, journal=journal, mark=lambda: 7, netd=netd).execute(plan)  # never settled
    assert "em1.100" in host.state()["interfaces"]["hv-dmz"]["members"]
    made = server.commits
    report = recover(host, journal, 7, netd)
    assert host.state()["interfaces"] == before
    assert made == 4  # bridge, FIB, VLAN, member
    assert server.commits == made + 3  # member, VLAN, bridge (the FIB goes with the bridge)
    assert all(r.startswith("undid ") for r in report), report


def test_without_netd_a_netd_undo_is_reported_not_dropped(sim, cfg, tmp_path):
    host, _server, netd = sim
    new = cfg.config([cfg.network("lan")])
    plan = build_plan(diff(None, new), zfs_parent="zroot/hv", after=entries(new).get,
                      via=Interfaces(netd=True))
    journal = str(tmp_path / "host-undo.jsonl")
    Engine(host, journal=journal, mark=lambda: 7, netd=netd).execute(plan)
    report = recover(host, journal, 7, None)
    assert any("no netd to undo it" in r for r in report), report
    assert "hv-lan" in host.state()["interfaces"]


class _Crash(BaseException):
    """hvd dies (not an error the engine handles)."""


class _CrashingNetd(Netd):
    def edit(self, config):
        raise _Crash


def test_recover_does_not_redo_a_netd_bridge_destroy_that_never_ran(sim, cfg, tmp_path):
    host, server, netd = sim
    lan = cfg.config([cfg.network("lan")])
    via = Interfaces(netd=True)
    Engine(host, netd=netd).execute(build_plan(diff(None, lan), zfs_parent="zroot/hv", via=via))
    before = copy.deepcopy(host.state()["interfaces"])
    plan = build_plan(diff(lan, cfg.config([])), zfs_parent="zroot/hv", via=via)
    journal = str(tmp_path / "host-undo.jsonl")
    with pytest.raises(_Crash):
        Engine(host, journal=journal, mark=lambda: 3,
               netd=_CrashingNetd(server.path)).execute(plan)
    made = server.commits
    report = recover(host, journal, 3, netd)
    assert "'destroy bridge hv-lan of network lan' had not run" in report
    assert host.state()["interfaces"] == before and server.commits == made  # nothing re-made
