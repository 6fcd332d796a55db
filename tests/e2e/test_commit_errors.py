"""Issue 16 item 15: an error that is not a failed host command (here fork failing with
EAGAIN, an OSError) at each step of a commit's host plan in turn. Every time the commit fails
with the error named, the simulated host and running are as before, and so they stay when
hvd is SIGKILLed right after and restarted: nothing is left for a later commit to trip on."""

from __future__ import annotations

import errno

import pytest
from e2e.conftest import ChildHvd
from e2e.helpers import config, network_xml, running_xml, sim_bytes, sim_state, vm_xml
from lxml import etree
from ncclient.operations import RPCError

from hvd_netconf.apply.plan import Absent, Found, Run, build_plan
from hvd_netconf.edit.diff import diff
from hvd_netconf.host.sim.host import SimHost

CHANGE = config(
    networks=(network_xml("a", phys="em0", mtu=9000, fib=1)
              + network_xml("b", phys="em1", vlan=20, mtu=1400)),
    vms=vm_xml("web", disks={"d0": "1G", "d1": "2G"}, nics={"n0": "a", "n1": "b"}))


def _first_command(step) -> tuple[str, ...]:
    first = next(a for a in step.do if not isinstance(a, Found))
    return first.probe if isinstance(first, Absent) else first.argv


def test_a_spawn_error_at_every_step_leaves_host_and_running_as_before(
        child_hvd: ChildHvd) -> None:
    root = child_hvd.root
    child_hvd.start()
    m = child_hvd.connect()
    plan = build_plan(diff(None, etree.fromstring(CHANGE)), zfs_parent="zroot/hv")
    assert len(plan.steps) >= 10
    assert all(isinstance(a, Run | Absent | Found) for s in plan.steps for a in s.do)
    sim = SimHost(root)
    sim.run(("ifconfig", "em0", "down"))  # the uplink as hvd finds it: down, not hvd's
    host_before, running_before = sim_bytes(root), running_xml(m)
    for i, step in enumerate(plan.steps):
        sim.inject_fault(_first_command(step), "Resource temporarily unavailable",
                         code=errno.EAGAIN, spawn_error=True)
        m.edit_config(CHANGE, target="candidate")
        with pytest.raises(RPCError) as ei:
            m.commit()
        assert ei.value.tag == "operation-failed"
        assert step.what in ei.value.message
        assert "Error: [Errno 11] Resource temporarily unavailable" in ei.value.message
        assert sim_bytes(root) == host_before, f"host changed after step {i + 1}"
        assert running_xml(m) == running_before
        m.discard_changes()  # the failed change stays in the candidate until a client drops it
        child_hvd.kill()  # right after the failed commit: the restart has nothing to replay
        child_hvd.start()
        m = child_hvd.connect()
        assert sim_bytes(root) == host_before, f"host changed at the restart after {i + 1}"
        assert running_xml(m) == running_before
    m.edit_config(CHANGE, target="candidate")
    m.commit()
    ifs = sim_state(root)["interfaces"]
    assert ifs["hv-a"]["members"] == ["em0"] and ifs["em0"]["mtu"] == 9000
