"""Issue 5: hvd killed with SIGKILL while a VM runs; the next hvd on the same root re-adopts
the guest (same pid, running) instead of starting it a second time."""

from __future__ import annotations

from e2e.conftest import ChildHvd
from e2e.helpers import (
    alive,
    config,
    guest_ready,
    network_xml,
    sim_state,
    standin,
    start_vm,
    stop_vm,
    vm_state,
    vm_xml,
    wait_for,
)


def test_sigkilled_hvd_readopts_its_running_vm(child_hvd: ChildHvd) -> None:
    root = child_hvd.root
    m = child_hvd.start().connect()
    m.edit_config(config(networks=network_xml("lan"),
                         vms=vm_xml("web", disks={"d0": "1G"}, nics={"nic0": "lan"},
                                    extra="<stop-timeout>2</stop-timeout>")),
                  target="running")
    standin(root, "web")
    start_vm(m, "web")
    guest_ready(root, "web")
    st = vm_state(m, "web")
    pid, taps = int(st["pid"]), st["tap"]
    assert st["status"] == "running" and taps == ["tap0"]
    host = sim_state(root)

    child_hvd.kill()
    assert alive(pid), "the guest must outlive a killed hvd"
    assert sim_state(root) == host

    m = child_hvd.start().connect()
    st = vm_state(m, "web")
    assert st["status"] == "running" and int(st["pid"]) == pid and st["tap"] == taps
    assert st["console"] == str(root / ".sim/dev/nmdm-web.1B")  # the sim's nmdm stand-in
    assert sim_state(root) == host, "adoption must not touch the host"
    log = (root / "vm/web/state/bhyve.log").read_text()
    assert log.count(": guest running") == 1, "the guest was started a second time"

    # The adopted guest is really under the new hvd's control.
    stop_vm(m, "web")
    st = vm_state(m, "web")
    assert st["status"] == "stopped" and "pid" not in st
    wait_for(lambda: not alive(pid), 5, "the adopted guest to exit")
    host = sim_state(root)
    assert host["vmm"] == {} and not [i for i in host["interfaces"] if i.startswith("tap")]
    assert host["interfaces"]["hv-lan"]["members"] == []
    assert child_hvd.stop() == 0
