"""hvd-system:private-candidate over the wire: a session's own copy of running, committed as
a merge of its own changes, refused where running changed under them."""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.waiting import wait_for

from hvd_netconf.daemon import wire_store
from hvd_netconf.namespaces import HVD, VM

N = {"vm": VM}


@pytest.fixture
def hvd_attach():
    return lambda server: wire_store(server, fsync=False)


def vm_cfg(name: str, body: str = "") -> str:
    return f'<config><vms xmlns="{VM}"><vm><name>{name}</name>{body}</vm></vms></config>'


def private(m) -> None:
    m.dispatch(to_ele(f'<private-candidate xmlns="{HVD}"/>'))


def memory(m, name: str, source: str) -> str | None:
    data = etree.fromstring(m.get_config(source).xml.encode())
    return data.findtext(f".//vm:vm[vm:name='{name}']/vm:memory", namespaces=N)


def test_private_candidates_merge_their_own_changes(hvd):
    with hvd.connect_uds() as a, hvd.connect_uds() as b, hvd.connect_uds() as c:
        a.edit_config(vm_cfg("x", "<memory>256</memory>"), target="running")
        a.edit_config(vm_cfg("y", "<memory>256</memory>"), target="running")
        private(a)
        private(b)
        a.edit_config(vm_cfg("x", "<memory>512</memory>"), target="candidate")
        b.edit_config(vm_cfg("y", "<memory>1024</memory>"), target="candidate")
        # Neither sees the other's edit, nor does the shared candidate.
        assert memory(a, "y", "candidate") == "256" and memory(b, "x", "candidate") == "256"
        assert memory(c, "x", "candidate") == "256"
        a.commit()
        assert memory(c, "x", "running") == "512" and memory(c, "y", "running") == "256"
        b.commit()  # its own entry only: a's commit stays
        assert memory(c, "x", "running") == "512" and memory(c, "y", "running") == "1024"
        # a's copy is from its own commit; discard-changes takes a new one, with b's change.
        assert memory(a, "y", "candidate") == "256"
        a.discard_changes()
        assert memory(a, "y", "candidate") == "1024"

        # Running changes under b's edit of x: b's commit is refused, naming the entry.
        b.edit_config(vm_cfg("x", "<memory>2048</memory>"), target="candidate")
        a.edit_config(vm_cfg("x", "<memory>768</memory>"), target="candidate")
        a.commit()
        with pytest.raises(RPCError) as ei:
            b.commit()
        assert ei.value.tag == "in-use" and "vm x" in str(ei.value)
        assert memory(c, "x", "running") == "768"
        b.discard_changes()
        assert memory(b, "x", "candidate") == "768"
        # copy-config into the candidate fills the private copy, never the shared one.
        b.edit_config(vm_cfg("x", "<memory>4096</memory>"), target="candidate")
        b.copy_config(source="running", target="candidate")
        assert memory(b, "x", "candidate") == "768"
        b.dispatch(to_ele('<copy-config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
                          "<target><candidate/></target><source>"
                          + vm_cfg("x", "<memory>1536</memory>") + "</source></copy-config>"))
        assert memory(b, "x", "candidate") == "1536"
        assert memory(c, "x", "candidate") == "768"  # the shared one: running's value


def test_a_private_candidate_ends_with_its_session(hvd):
    with hvd.connect_uds() as a:
        private(a)
        a.edit_config(vm_cfg("gone", "<memory>512</memory>"), target="candidate")
        assert hvd.server.datastores.privates
    wait_for(lambda: not hvd.server.datastores.privates, what="the private candidate to go")
    with hvd.connect_uds() as b:
        assert memory(b, "gone", "candidate") is None
