"""Issue 24 on the sim, over the wire: a commit that adds a network's addresses and a port
forward, and its rollback, which leaves the simulated host's interfaces and pf anchors exactly
as they were."""

from __future__ import annotations

import pytest
from e2e.helpers import config, network_xml, sim_state
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import HvdInstance

from hvd_netconf.namespaces import HVD


def rollback_to(m, commit_id: int) -> None:  # type: ignore[no-untyped-def]
    m.dispatch(to_ele(f'<rollback xmlns="{HVD}"><id>{commit_id}</id><commit>true</commit>'
                      "</rollback>"))


def test_addresses_commit_and_rollback_leave_the_host_as_before(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("lan", phys="em0", fib=1)), target="candidate")
    m.commit()
    before = sim_state(vmhvd.root)["interfaces"]
    m.edit_config(config(networks=network_xml(
        "lan", phys="em0", fib=1, addresses=("10.0.0.1/24", "fd00:1::1/64"))),
        target="candidate")
    m.commit()
    assert sim_state(vmhvd.root)["interfaces"]["hv-lan"]["addresses"] == [
        "10.0.0.1/24", "fd00:1::1/64"]
    rollback_to(m, 1)
    assert sim_state(vmhvd.root)["interfaces"] == before


NAT = "<nat>em1</nat><ip-forwarding>true</ip-forwarding>"
FWD = ("<forward><protocol>tcp</protocol><host-port>8080</host-port>"
       "<guest-address>10.0.0.5</guest-address><guest-port>80</guest-port></forward>")


def test_address_and_forward_commit_and_rollback(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("lan", phys="em0", addresses=("10.9.0.1/24",),
                                              extra=NAT)), target="candidate")
    m.commit()
    before = sim_state(vmhvd.root)
    assert before["pf-anchors"] == {"hvd/lan": [
        "nat on em1 inet from 10.9.0.0/24 to any -> (em1)"]}
    m.edit_config(config(networks=network_xml(
        "lan", phys="em0", addresses=("10.9.0.1/24", "10.0.0.1/24"), extra=NAT + FWD)),
        target="candidate")
    m.commit()
    after = sim_state(vmhvd.root)
    assert after["interfaces"]["hv-lan"]["addresses"] == ["10.9.0.1/24", "10.0.0.1/24"]
    # operational state: what pf holds in the anchor, as pfctl -a hvd/lan -s nat prints it
    got = m.get(("subtree", '<networks xmlns="urn:hvd:network"/>')).data_ele
    assert [r.text for r in got.iter("{urn:hvd:network}nat-rule")] == after["pf-anchors"][
        "hvd/lan"]
    assert after["pf-anchors"]["hvd/lan"][-1] == (
        "rdr pass on em1 inet proto tcp from any to (em1) port 8080 -> 10.0.0.5 port 80")
    rollback_to(m, 1)
    back = sim_state(vmhvd.root)
    assert (back["interfaces"], back["pf-anchors"]) == (before["interfaces"],
                                                       before["pf-anchors"])
    # the network's removal flushes its anchor; hvd leaves forwarding on (hv(1), hvd.conf(5))
    m.edit_config(config(networks=network_xml("lan", op="delete")), target="candidate")
    m.commit()
    gone = sim_state(vmhvd.root)
    assert "pf-anchors" not in gone and "hv-lan" not in gone["interfaces"]
    assert gone["sysctl"]["net.inet.ip.forwarding"] == "1"


@pytest.mark.parametrize(("body", "message"), [
    ("<spanning-tree>true</spanning-tree>",
     "spanning-tree runs on the uplink: set a physical-interface"),
    ("<address>fd00::1/64</address><nat>em0</nat>",
     "NAT needs an IPv4 address on the network: the guests' gateway"),
    ("<address>10.0.0.1/24</address>" + FWD, "a port forward needs nat on its network"),
])
def test_model_musts(vmhvd: HvdInstance, body: str, message: str) -> None:
    m = vmhvd.connect_uds()
    with pytest.raises(RPCError) as ei:
        m.edit_config(config(networks=f"<network><name>lan</name>{body}</network>"),
                      target="running")
    assert message in ei.value.message
