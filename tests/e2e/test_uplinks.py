"""Issue 24 item 6 on the sim, over the wire: an uplink unplugged, plugged back and losing its
link is told each time as an uplink-change notification and shown in the network's state; back
after being absent, it is in its bridge again."""

from __future__ import annotations

from e2e.helpers import next_event
from lxml import etree
from support.server import HvdInstance

from hvd_netconf.host import ifconfig
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import BASE, NETWORK

N = {"n": NETWORK}


def state(m, net: str) -> str | None:  # type: ignore[no-untyped-def]
    reply = m.get(filter=("subtree", f"<networks xmlns='{NETWORK}'><network><name>{net}</name>"
                                     "<state><uplink-state/></state></network></networks>"))
    return etree.fromstring(reply.xml.encode()).findtext(".//n:uplink-state", namespaces=N)


def change(m) -> tuple[str | None, ...]:  # type: ignore[no-untyped-def]
    return next_event(m, NETWORK, "uplink-change", ("network", "interface", "previous", "state"))


def members(root, bridge: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(SimHost(root).state()["interfaces"][bridge]["members"])


def test_an_uplink_goes_comes_back_and_loses_its_link(hvd: HvdInstance) -> None:
    root, m = hvd.root, hvd.connect_uds()
    m.edit_config(target="running", config=(
        f"<config xmlns='{BASE}'><networks xmlns='{NETWORK}'><network><name>lan</name>"
        "<physical-interface>em1</physical-interface></network></networks></config>"))
    bridge = "hv-lan"
    assert "em1" in members(root, bridge) and state(m, "lan") == "up"
    watch = hvd.server.uplink_watch
    assert watch is not None
    watch.run_pass()  # learns the new network's uplink: nothing to tell yet
    m.create_subscription()
    sim = SimHost(root)
    sim.unplug("em1")
    watch.run_pass()
    assert change(m) == ("lan", "em1", "up", "absent")
    assert state(m, "lan") == "absent" and "em1" not in members(root, bridge)
    sim.plug("em1")
    watch.run_pass()
    assert change(m) == ("lan", "em1", "absent", "up")
    assert "em1" in members(root, bridge)  # back in its bridge
    sim.carrier("em1", False)
    watch.run_pass()
    assert change(m) == ("lan", "em1", "up", "down") and state(m, "lan") == "down"


def test_link_state_from_ifconfig() -> None:
    up = "em0: flags=8843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST> metric 0 mtu 1500\n" \
         "\tstatus: active\n"
    assert ifconfig.parse_link(up) == "up"
    assert ifconfig.parse_link(up.replace("active", "no carrier")) == "down"
    assert ifconfig.parse_link("em0: flags=8802<BROADCAST,SIMPLEX,MULTICAST> metric 0 "
                               "mtu 1500\n") == "down"


def test_a_vlan_networks_vlan_gets_its_parent_again(hvd: HvdInstance) -> None:
    """vlan(4): when the parent NIC goes, its VLANs stay (in their bridges) without a parent;
    when it is back, hvd gives the VLAN its parent and tag again (`ifconfig em1.30 vlan 30
    vlandev em1`)."""
    root, m = hvd.root, hvd.connect_uds()
    m.edit_config(target="running", config=(
        f"<config xmlns='{BASE}'><networks xmlns='{NETWORK}'><network><name>v30</name>"
        "<physical-interface>em1</physical-interface><vlan>30</vlan></network></networks>"
        "</config>"))
    watch = hvd.server.uplink_watch
    assert watch is not None
    watch.run_pass()
    sim = SimHost(root)
    sim.unplug("em1")
    watch.run_pass()
    vlan = sim.state()["interfaces"]["em1.30"]
    assert (vlan["vlandev"], vlan["vlan"]) == (None, None)
    assert "em1.30" in members(root, "hv-v30")
    sim.plug("em1")
    watch.run_pass()
    vlan = sim.state()["interfaces"]["em1.30"]
    assert (vlan["vlandev"], vlan["vlan"]) == ("em1", 30)
    assert "em1.30" in members(root, "hv-v30")
    assert '"ifconfig", "em1.30", "vlan", "30", "vlandev", "em1"' in (
        root / ".sim" / "host.log").read_text()
