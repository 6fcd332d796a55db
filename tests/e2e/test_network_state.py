"""A network's operational members as a <get> of networks alone shows them: the uplink, and
the taps of running VMs, which come and go with the VMs."""

from __future__ import annotations

from e2e.helpers import config, guest_ready, network_xml, start_vm, stop_vm, vm_xml
from lxml import etree
from support.server import HvdInstance

from hvd_netconf.namespaces import NETWORK

NET = {"net": NETWORK}
ONLY_NETWORKS = ("subtree", f'<networks xmlns="{NETWORK}"/>')


def members(m, name: str) -> list[str]:  # type: ignore[no-untyped-def]
    data = etree.fromstring(m.get(filter=ONLY_NETWORKS).xml.encode())
    assert data.xpath("//*[local-name()='vms']") == []  # the reply really holds no VM
    return data.xpath(f"//net:network[net:name='{name}']/net:state/net:member/text()",
                      namespaces=NET)


def test_members_of_a_network_follow_its_vms(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(target="running", config=config(
        networks=network_xml("lan", phys="em0", vlan=7) + network_xml("dmz"),
        vms=vm_xml("web", nics={"nic0": "lan", "nic1": "dmz"})
        + vm_xml("db", nics={"nic0": "lan"})))
    assert members(m, "lan") == ["em0.7"]
    assert members(m, "dmz") == []
    start_vm(m, "web")
    guest_ready(vmhvd.root, "web")
    start_vm(m, "db")
    guest_ready(vmhvd.root, "db")
    lan, dmz = members(m, "lan"), members(m, "dmz")
    assert lan[0] == "em0.7" and len(lan) == 3 and all(t.startswith("tap") for t in lan[1:])
    assert len(dmz) == 1 and dmz[0].startswith("tap") and dmz[0] not in lan
    stop_vm(m, "web")
    assert members(m, "dmz") == []
    assert len(members(m, "lan")) == 2
