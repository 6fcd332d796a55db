"""Issue 25 item 1: a bulk commit's independent host steps run as chunks (one host batch each),
and that is still all or nothing. A fault at each of the 20 steps of a 10-VM plan in turn
leaves the host and running as before; a kill -9 of hvd while a chunk is half done, then a
restart, leaves them as before too, and the same commit then goes through."""

from __future__ import annotations

import contextlib
import threading

import pytest
from e2e.conftest import ChildHvd
from e2e.helpers import config, running_xml, sim_bytes, sim_state, vm_xml, wait_for
from lxml import etree
from ncclient.operations import RPCError

from hvd_netconf.apply.chunks import schedule
from hvd_netconf.apply.plan import build_plan
from hvd_netconf.edit.diff import diff
from hvd_netconf.host import names, zfs
from hvd_netconf.host.sim.host import SimHost

P = "zroot/hv"
TEN = config(vms="".join(vm_xml(f"v{i}") for i in range(10)))


def test_a_fault_at_each_step_of_a_bulk_commit_leaves_host_and_running_as_before(
        child_hvd: ChildHvd) -> None:
    root = child_hvd.root
    m = child_hvd.start().connect()
    plan = build_plan(diff(None, etree.fromstring(TEN)), zfs_parent=P)
    assert len(plan.steps) == 20
    assert [len(c) for c in schedule(plan.steps)] == [10, 10]  # two batches, not 20 commands
    sim = SimHost(root)
    host_before, running_before = sim_bytes(root), running_xml(m)
    for i, step in enumerate(plan.steps):
        argv = step.do[0].argv  # type: ignore[union-attr]
        ds = argv[-1]
        sim.inject_fault(argv, f"cannot create '{ds}': out of space")
        m.edit_config(TEN, target="candidate")
        with pytest.raises(RPCError) as ei:
            m.commit()
        assert ei.value.tag == "operation-failed"
        assert step.what in ei.value.message
        assert f"exit status 1: cannot create '{ds}': out of space" in ei.value.message
        assert sim_bytes(root) == host_before, f"host changed after step {i + 1} failed"
        assert running_xml(m) == running_before
        m.discard_changes()
    child_hvd.kill()
    m = child_hvd.start().connect()
    assert sim_bytes(root) == host_before and running_xml(m) == running_before
    m.edit_config(TEN, target="candidate")
    m.commit()
    assert {f"{P}/vm/v{i}/disks" for i in range(10)} <= set(sim_state(root)["datasets"])


def test_a_kill_in_the_middle_of_a_chunk_is_undone_at_restart(child_hvd: ChildHvd) -> None:
    root = child_hvd.root
    m = child_hvd.start().connect()
    sim = SimHost(root)
    host_before, running_before = sim_bytes(root), running_xml(m)
    # v7's disks dataset hangs: v0..v6's are made (and logged) in the second chunk first
    stuck = zfs.create_filesystem(names.disks_dataset(P, "v7"), "disks")
    sim.inject_fault(stuck, "", delay=60)
    m.edit_config(TEN, target="candidate")

    def commit() -> None:
        with contextlib.suppress(Exception):  # the session ends with the kill
            m.commit()

    threading.Thread(target=commit, daemon=True).start()
    host_log = root / ".sim" / "host.log"
    wait_for(lambda: host_log.exists() and f"{P}/vm/v6/disks".encode() in host_log.read_bytes(),
             60, "half of the second chunk to run")
    journal = (root / ".hvd" / "host-undo.jsonl").read_bytes()
    assert journal.count(b'{"start": [') == 2
    child_hvd.kill()
    sim.clear_faults()

    m = child_hvd.start().connect()
    assert sim_bytes(root) == host_before, "a kill mid-chunk left host objects behind"
    assert running_xml(m) == running_before
    m.edit_config(TEN, target="candidate")
    m.commit()
    assert {f"{P}/vm/v{i}/disks" for i in range(10)} <= set(sim_state(root)["datasets"])
