"""preview-commit over the wire: the exact host commands of a pending commit, run nowhere."""

from __future__ import annotations

import pytest
from e2e.helpers import sim_bytes
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance

HVD = "urn:hvd:system"
NS = {"h": HVD}
PREVIEW = f'<preview-commit xmlns="{HVD}"/>'

CONFIG = """
<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <networks xmlns="urn:hvd:network">
    <network><name>lan</name><fib>1</fib><physical-interface>em0</physical-interface>
      <vlan>100</vlan></network>
  </networks>
  <vms xmlns="urn:hvd:vm">
    <vm><name>web</name>
      <disk><name>disk0</name><size>20G</size><sparse>false</sparse></disk>
      <nic><name>nic0</name><network>lan</network></nic>
    </vm>
  </vms>
</config>"""


def preview(m) -> etree._Element:  # type: ignore[no-untyped-def]
    return etree.fromstring(m.dispatch(etree.fromstring(PREVIEW)).xml.encode())


def test_preview_shows_the_plan_and_changes_nothing(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="candidate", config=CONFIG)
    host_before = sim_bytes(hvd.root)
    reply = preview(m)
    commands = reply.xpath("//h:step/h:command/text()", namespaces=NS)
    assert "ifconfig vlan create vlandev em0 vlan 100 name em0.100 up" in commands
    assert any(c.startswith("ifconfig bridge create name hv-lan") for c in commands)
    assert "ifconfig hv-lan fib 1" in commands
    assert any(c.startswith("zfs create -V 20G -o volmode=dev") and
               c.endswith("zroot/hv/vm/web/disks/disk0") for c in commands), commands
    indexes = [int(i) for i in reply.xpath("//h:step/h:index/text()", namespaces=NS)]
    assert indexes == list(range(1, len(indexes) + 1)) and len(indexes) >= 4
    assert reply.xpath("string(//h:simulated)", namespaces=NS) == "true"
    assert "hv-lan" in reply.xpath("string(//h:text)", namespaces=NS)
    # Nothing ran: the sim host and running are as they were.
    assert sim_bytes(hvd.root) == host_before
    assert hvd.server.datastores.running.get(("vm", "web")) is None
    m.commit()
    assert hvd.server.datastores.running.get(("vm", "web")) is not None
    assert preview(m).xpath("string(//h:text)", namespaces=NS) == "nothing to do on the host\n"


def test_preview_gives_the_refusal_commit_would_give(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="candidate", config=CONFIG)
    m.commit()
    m.edit_config(target="candidate", config="""
      <config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><vms xmlns="urn:hvd:vm">
        <vm><name>web</name><disk><name>disk0</name><size>10G</size></disk></vm>
      </vms></config>""")
    with pytest.raises(RPCError) as info:
        m.dispatch(etree.fromstring(PREVIEW))
    assert info.value.tag == "operation-failed"
    assert "shrink" in info.value.message


def test_preview_reports_validation_errors(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="candidate", config="""
      <config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><vms xmlns="urn:hvd:vm">
        <vm><name>web</name><nic><name>nic0</name><network>nowhere</network></nic></vm>
      </vms></config>""")
    with pytest.raises(RPCError) as info:
        m.dispatch(etree.fromstring(PREVIEW))
    assert info.value.tag == "data-missing"
