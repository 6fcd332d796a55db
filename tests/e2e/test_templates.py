"""Issue 20, item 2: create-vm expands a template into plain configuration in one commit, on
the sim; list-templates shows shipped and configured templates."""

from __future__ import annotations

import pytest
from e2e.helpers import config, network_xml, rpc, sim_state
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, HVD, TEMPLATE, VM

T = {"t": TEMPLATE}


def _vm(m: manager.Manager, name: str) -> str:
    reply = m.get_config("running", filter=("subtree", f'<vms xmlns="{VM}"><vm><name>{name}'
                                                      "</name></vm></vms>"))
    data = reply.data_ele
    vm = data.find(f".//{{{VM}}}vm")
    return etree.tostring(vm, encoding="unicode") if vm is not None else ""


def _sources(m: manager.Manager) -> list[str]:
    reply = rpc(m, f'<get-commit-history xmlns="{HVD}"/>')
    return [c.findtext(f"{{{HVD}}}source") or "" for c in reply.iter(f"{{{HVD}}}commit")]


def _create(m: manager.Manager, name: str, template: str, network: str = "") -> str:
    net = f"<network>{network}</network>" if network else ""
    out = rpc(m, f'<create-vm xmlns="{TEMPLATE}"><name>{name}</name><template>{template}'
                 f"</template>{net}</create-vm>")
    return out.findtext(f"{{{TEMPLATE}}}commit-id") or ""


def test_create_vm_from_a_shipped_template(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("lan")), target="running")
    assert _create(m, "win", "windows-uefi", "lan") == "2"
    assert _sources(m)[0] == "create-vm"
    assert _vm(m, "win") == (
        f'<vm xmlns="{VM}"><name>win</name>'
        "<description>Windows with UEFI: an AHCI disk and an e1000 NIC, the drivers Windows "
        "ships, and the clock in local time</description><cpu>2</cpu><memory>4096</memory>"
        "<loader><type>uefi</type></loader><utc-clock>false</utc-clock>"
        "<disk><name>disk0</name><size>60G</size><emulation>ahci-hd</emulation></disk>"
        "<nic><name>nic0</name><network>lan</network><emulation>e1000</emulation></nic></vm>")
    host = sim_state(vmhvd.root)
    assert host["datasets"]["zroot/hv/vm/win/disks/disk0"]["props"]["volsize"] == str(60 << 30)

    with pytest.raises(RPCError) as e:
        _create(m, "win", "freebsd", "lan")
    assert e.value.tag == "data-exists"
    with pytest.raises(RPCError) as e:
        _create(m, "x", "plan9", "lan")
    assert e.value.tag == "data-missing" and "list-templates" in e.value.message
    with pytest.raises(RPCError) as e:  # the VM's own validation: no such network
        _create(m, "y", "freebsd", "nowhere")
    assert _sources(m) == ["create-vm", "edit-running"]


def test_a_configured_template_is_copied_not_linked(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("lan")), target="running")
    tpl = (f'<config xmlns="{BASE}"><templates xmlns="{TEMPLATE}"><template><name>small</name>'
           "<description>a small FreeBSD</description><cpu>1</cpu><memory>256</memory>"
           "<loader>bhyveload</loader><disk><name>d0</name><size>2G</size></disk>"
           "<nic><name>nic0</name><network>lan</network></nic></template></templates></config>")
    m.edit_config(tpl, target="running")
    listed = rpc(m, f'<list-templates xmlns="{TEMPLATE}"/>')
    rows = {t.findtext("t:name", namespaces=T): t.findtext("t:origin", namespaces=T)
            for t in listed.iter(f"{{{TEMPLATE}}}template")}
    assert rows["small"] == "configured" and rows["freebsd"] == "shipped"
    _create(m, "db", "small")
    before = _vm(m, "db")
    assert "<memory>256</memory>" in before and "<type>bhyveload</type>" in before
    m.edit_config(tpl.replace("<memory>256</memory>", "<memory>1024</memory>"), target="running")
    assert _vm(m, "db") == before
