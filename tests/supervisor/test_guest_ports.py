"""Issue 24 item 4: a guest's tap joins an isolated, sticky network as a private, sticky
member, with its MAC pinned when the NIC asks (if_bridge(4), ifconfig(8)); a change of the
network's flags reaches running guests' taps in the commit's plan, undone with it."""

from __future__ import annotations

import pytest

from hvd_netconf import errors
from hvd_netconf.apply.engine import Engine
from hvd_netconf.apply.plan import build_plan
from hvd_netconf.edit.diff import diff, entries
from hvd_netconf.host import names

BRIDGE = names.bridge_name("lan")


def test_guest_ports_follow_the_network(env) -> None:
    env.config.network_leaves["lan"] = ("<isolate-guests>true</isolate-guests>"
                                        "<sticky-guests>true</sticky-guests>")
    env.add_vm("web", nics=2, nic_leaves="<pin-mac>true</pin-mac>")
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    bridge = env.sim()["interfaces"][BRIDGE]
    assert bridge["ports"] == {"tap0": ["private", "sticky"], "tap1": ["private", "sticky"]}
    assert bridge["static"] == {names.mac_address("web", "nic0"): "tap0",
                                names.mac_address("web", "nic1"): "tap1"}
    status = env.host.run(("ifconfig", BRIDGE))
    assert "\tmember: tap0 flags=953<LEARNING,DISCOVER,STICKY,AUTOEDGE,AUTOPTP,PRIVATE>\n" \
        in status

    before = env.config.root()
    env.config.network_leaves["lan"] = "<sticky-guests>true</sticky-guests>"
    after = env.config.root()
    plan = build_plan(diff(before, after), zfs_parent="zroot/hv", vms=sup,
                      after=entries(after).get)
    assert [s.what for s in plan.steps] == [f"set -private on tap0 of bridge {BRIDGE}",
                                            f"set -private on tap1 of bridge {BRIDGE}"]
    assert plan.pending_restart == set()  # live: the guest keeps running
    host_before = env.sim()
    env.host.inject_fault(("ifconfig", BRIDGE, "-private", "tap1"), "injected", code=1)
    with pytest.raises(errors.OperationFailed):
        Engine(env.host).execute(plan)
    assert env.sim() == host_before
    Engine(env.host).execute(plan)
    assert env.sim()["interfaces"][BRIDGE]["ports"] == {"tap0": ["sticky"], "tap1": ["sticky"]}
    sup.stop("web")
    # the taps left the bridge with their flags and pinned addresses
    assert {"ports", "static"}.isdisjoint(env.sim()["interfaces"][BRIDGE])
