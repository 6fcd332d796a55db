"""Issue 21 items 6 and 8: a VM's rctl limits over the wire on the sim. They are on the bhyve
process when the VM is reported running; a commit sets, changes and removes them on the
running process (the sim's rule table changes exactly, the pid stays: no restart); a failed
rctl step is undone; a host without racct refuses a limit before anything changes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.helpers import (
    config,
    guest_ready,
    kill_standins,
    running_xml,
    sim_bytes,
    sim_state,
    standin,
    start_vm,
    stop_vm,
    vm_state,
    vm_xml,
    wait_for,
)
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost


def limited(cpu: int | None, memory: int | None = None, op: str = "") -> str:
    inner = "" if cpu is None else f"<cpu-percent>{cpu}</cpu-percent>"
    inner += "" if memory is None else f"<memory-use>{memory}</memory-use>"
    attr = f' xc:operation="{op}"' if op else ""
    return config(vms=vm_xml("web", extra=f"<limits{attr}>{inner}</limits>"))


def rules(root: Path) -> list[str]:
    return sorted(sim_state(root).get("rctl", []))


def commit(m: manager.Manager, cfg: str) -> None:
    m.edit_config(cfg, target="candidate")
    m.commit()


def test_limits_follow_the_configuration_on_the_running_process(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(limited(50), target="running")
    standin(root, "web")
    start_vm(m, "web")
    guest_ready(root, "web")
    pid = vm_state(m, "web")["pid"]
    assert rules(root) == [f"process:{pid}:pcpu:deny=50"]  # there when it was reported running

    commit(m, limited(25, 512))
    assert rules(root) == [f"process:{pid}:memoryuse:deny={512 << 20}",
                           f"process:{pid}:pcpu:deny=25"]
    assert vm_state(m, "web")["pid"] == pid and vm_state(m, "web")["status"] == "running"
    assert vm_state(m, "web").get("pending-restart") in (None, "false")

    # a failed rctl step: the commit fails, the old rules are back, running is unchanged
    before, running_before = rules(root), running_xml(m)
    SimHost(root).inject_fault(("rctl", "-a", f"process:{pid}:pcpu:deny=40"),
                               "rctl: failed to add rule: Resource temporarily unavailable")
    m.edit_config(limited(40, 768), target="candidate")  # memoryuse goes first, then undone
    with pytest.raises(RPCError) as err:
        m.commit()
    assert "pcpu limit of VM web" in err.value.message
    assert rules(root) == before and running_xml(m) == running_before
    m.discard_changes()

    commit(m, config(vms=vm_xml("web", extra='<limits xc:operation="remove"/>')))
    assert rules(root) == [] and vm_state(m, "web")["pid"] == pid

    commit(m, limited(30))
    assert rules(root) == [f"process:{pid}:pcpu:deny=30"]
    stop_vm(m, "web")
    wait_for(lambda: vm_state(m, "web")["status"] == "stopped", what="the VM to stop")
    assert rules(root) == []  # process rules end with the process


def test_a_host_without_racct_refuses_a_limit_before_any_change(
        hvd_factory: Callable[..., HvdInstance], tmp_path: Path) -> None:
    root = tmp_path / "hvd0" / "root"
    SimHost(root, sysctls={"kern.racct.enable": "0"})  # booted without racct
    inst = hvd_factory(ssh=False)
    try:
        assert inst.root == root
        m = inst.connect_uds()
        m.edit_config(config(vms=vm_xml("web")), target="running")
        host_before, running_before = sim_bytes(root), running_xml(m)
        m.edit_config(limited(50), target="candidate")
        with pytest.raises(RPCError) as err:
            m.commit()
        assert err.value.tag == "invalid-value"
        assert "this host cannot enforce limits: racct is not enabled" in err.value.message
        assert err.value.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']/hvd-vm:limits"
        assert sim_bytes(root) == host_before and running_xml(m) == running_before
    finally:
        kill_standins(root)
