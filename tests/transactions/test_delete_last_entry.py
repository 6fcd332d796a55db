"""Deleting the last VM empties <vms>; the store prunes the empty container, and the edit must
still reach the disk, the history and the host (it once only vanished from memory)."""

from __future__ import annotations

import pytest
from ncclient.operations import RPCError
from support.server import HvdInstance, on_disk

NC = "urn:ietf:params:xml:ns:netconf:base:1.0"
CREATE = f'<config xmlns="{NC}"><vms xmlns="urn:hvd:vm"><vm><name>t</name></vm></vms></config>'
DELETE = (f'<config xmlns="{NC}"><vms xmlns="urn:hvd:vm" xmlns:nc="{NC}">'
          '<vm nc:operation="delete"><name>t</name></vm></vms></config>')


def test_deleting_the_last_vm_on_running_is_written(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="running", config=CREATE)
    on_disk(m)
    assert (hvd.root / "vm" / "t" / "config.xml").exists()
    m.edit_config(target="running", config=DELETE, default_operation="none")
    on_disk(m)
    assert not (hvd.root / "vm" / "t" / "config.xml").exists()
    assert "<vm>" not in m.get_config("running").xml
    sources = [(r.meta.source, [c.op for c in r.changes])
               for r in hvd.server.datastores.history.list()]
    assert sources[0] == ("edit-running", ["delete"])


def test_deleting_the_last_vm_through_the_candidate_is_committed(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.edit_config(target="running", config=CREATE)
    m.edit_config(target="candidate", config=DELETE, default_operation="none")
    m.commit()
    on_disk(m)
    assert not (hvd.root / "vm" / "t" / "config.xml").exists()
    assert "<vm>" not in m.get_config("running").xml
    assert "<vm>" not in m.get_config("candidate").xml


def test_a_refused_delete_of_the_last_vm_leaves_it_in_place(hvd: HvdInstance) -> None:
    """The edit fails validation after the store pruned <vms>; the undo must restore it."""
    m = hvd.connect_uds()
    m.edit_config(target="running", config=CREATE)
    on_disk(m)
    before = (hvd.root / "vm" / "t" / "config.xml").read_bytes()
    bad = DELETE.replace("</config>", '<networks xmlns="urn:hvd:network"><network>'
                         "<name>lan</name><vlan>5</vlan></network></networks></config>")
    with pytest.raises(RPCError) as info:
        m.edit_config(target="running", config=bad, default_operation="merge")
    assert info.value.tag == "operation-failed"  # the vlan must: no physical-interface
    assert (hvd.root / "vm" / "t" / "config.xml").read_bytes() == before
    assert "<name>t</name>" in m.get_config("running").xml
    m.edit_config(target="running", config=DELETE, default_operation="none")
    on_disk(m)
    assert not (hvd.root / "vm" / "t" / "config.xml").exists()
