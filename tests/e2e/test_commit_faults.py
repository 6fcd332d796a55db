"""Issue 5, fault injection at the commit level: a commit whose host plan has 18 steps (and,
since issue 24, a network's DHCP server and a file disk) is made to fail at each step in turn.
Every time the rpc-error names the step, the command and its stderr, and nothing changed: not
the simulated host (byte for byte), not running, not a file under ROOT. With the faults gone
the same candidate commits and the host has it all."""

from __future__ import annotations

import shlex

import pytest
from e2e.helpers import (
    SIM_FILES,
    config,
    guest_ready,
    network_xml,
    running_xml,
    sim_bytes,
    sim_state,
    standin,
    start_vm,
    tree_digest,
    vm_state,
    vm_xml,
)
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.apply.hook import plan_for
from hvd_netconf.apply.plan import Absent, DhcpServer, Run
from hvd_netconf.host.sim.host import SimHost

BIG_CHANGE = config(
    networks=(network_xml("a", phys="em0", vlan=10, mtu=1400, fib=1,
                          addresses=("10.1.0.1/24", "fd00:a::1/64"),
                          extra="<nat>em1</nat><ip-forwarding>true</ip-forwarding>"
                                "<forward><protocol>tcp</protocol><host-port>8080</host-port>"
                                "<guest-address>10.1.0.5</guest-address></forward>"
                                "<dhcp><range-start>10.1.0.100</range-start>"
                                "<range-end>10.1.0.200</range-end></dhcp>")
              + network_xml("b", phys="em1", vlan=20, mtu=1400, fib=2)),
    vms=vm_xml("web", disks={"d0": "1G", "d1": "2G"}, nics={"n0": "a", "n1": "b"},
               extra="<disk><name>img</name><size>1G</size><file/></disk>"))


def test_every_step_of_a_commit_fails_cleanly(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    # Something already configured and running, which a failed commit must not disturb.
    m.edit_config(config(networks=network_xml("base"),
                         vms=vm_xml("old", disks={"d0": "1G"}, nics={"n0": "base"})),
                  target="running")
    standin(root, "old")
    start_vm(m, "old")
    guest_ready(root, "old")
    old_pid = vm_state(m, "old")["pid"]

    m.edit_config(BIG_CHANGE, target="candidate")
    dss = vmhvd.server.datastores
    # hvd's own preview of the plan names the commands to fail; what the host ends up with is
    # checked against the sim state itself, independently of the plan.
    plan = plan_for(dss, vmhvd.server.settings.zfs_parent, vmhvd.server.supervisor,
                    vmhvd.server.host,
                    dss.running.root, dss.candidate.root, sorted(dss.dirty_keys),
                    str(vmhvd.server.settings.root), str(vmhvd.server.settings.state_dir))
    assert len(plan.steps) >= 10
    assert any(isinstance(s.do[0], DhcpServer) for s in plan.steps)
    sim = SimHost(root)
    host_before, running_before = sim_bytes(root), running_xml(m)
    files_before = tree_digest(root, SIM_FILES)

    for i, step in enumerate(plan.steps):
        first = step.do[0]
        assert isinstance(first, Run | Absent | DhcpServer)
        # a DHCP server's step runs `dnsmasq --test` first: the command to fail there
        argv = (first.argv if isinstance(first, Run) else first.probe
                if isinstance(first, Absent) else ("dnsmasq", "--test"))
        stderr = f"hvd e2e fault {i}: No space left on device"
        sim.inject_fault(argv, stderr, code=1 + i % 3)
        with pytest.raises(RPCError) as ei:
            m.commit()
        err = ei.value
        assert err.tag == "operation-failed"
        assert step.what in err.message, (step.what, err.message)
        if isinstance(first, DhcpServer):
            assert f"dnsmasq refused its configuration: {stderr}" in err.message
        else:
            assert f"`{shlex.join(argv)}`" in err.message, err.message
            assert f"exit status {1 + i % 3}: {stderr}" in err.message
        assert "simulated host" in err.message
        assert sim_bytes(root) == host_before, f"host changed after failing step {i + 1}"
        assert running_xml(m) == running_before
        assert tree_digest(root, SIM_FILES) == files_before, f"files changed at step {i + 1}"
        assert sim.state()["vmm"].keys() == {"old"} and vm_state(m, "old")["pid"] == old_pid

    m.commit()
    host = sim_state(root)
    ifs = host["interfaces"]
    assert ifs["hv-a"]["members"] == ["em0.10"] and ifs["hv-b"]["members"] == ["em1.20"]
    assert (ifs["hv-a"]["fib"], ifs["hv-a"]["mtu"], ifs["em0.10"]["mtu"]) == (1, 1400, 1400)
    assert ifs["hv-a"]["addresses"] == ["10.1.0.1/24", "fd00:a::1/64"]
    assert host["pf-anchors"]["hvd/a"][1] == (
        "rdr pass on em1 inet proto tcp from any to (em1) port 8080 -> 10.1.0.5 port 8080")
    assert host["sysctl"]["net.inet.ip.forwarding"] == "1"
    assert (ifs["em1.20"]["vlandev"], ifs["em1.20"]["vlan"]) == ("em1", 20)
    for d, size in (("d0", 1 << 30), ("d1", 2 << 30)):
        assert host["datasets"][f"zroot/hv/vm/web/disks/{d}"]["props"]["volsize"] == str(size)
    assert running_xml(m) != running_before
    assert (root / "vm/web/config.xml").exists() and (root / "networks/b/config.xml").exists()
    assert (root / "vm/web/disks/img.img").stat().st_size == 1 << 30
    assert (root / ".hvd/dnsmasq/a.conf").exists()
