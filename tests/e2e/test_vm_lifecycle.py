"""Issue 5: a network and a VM committed over NETCONF become host objects on the sim host, and
the VM's life cycle (start, graceful stop, crash, reboot) is visible in <get>, on the host and
as vm-state-change notifications."""

from __future__ import annotations

import time
from typing import Any

from e2e.helpers import (
    alive,
    config,
    guest_exit,
    guest_ready,
    network_xml,
    sim_state,
    standin,
    start_vm,
    stop_vm,
    vm_state,
    vm_xml,
)
from lxml import etree
from ncclient import manager
from support.server import HvdInstance, on_disk

from hvd_netconf.namespaces import VM

VMX = {"vm": VM}


class Transitions:
    """vm-state-change notifications of one subscription, as (vm, old, new, exit-code)."""

    def __init__(self, m: manager.Manager) -> None:
        self.m = m
        self.seen: list[tuple[str, str, str, str | None]] = []
        self.cursor = 0
        m.create_subscription()

    def _pull(self, timeout: float) -> bool:
        notif = self.m.take_notification(block=True, timeout=timeout)
        if notif is None:
            return False
        ev = etree.fromstring(notif.notification_xml.encode()).find("vm:vm-state-change", VMX)
        if ev is not None:
            self.seen.append(tuple(ev.findtext(f"vm:{k}", namespaces=VMX)  # type: ignore[misc]
                                   for k in ("name", "old-status", "new-status", "exit-code")))
        return True

    def expect(self, *want: tuple[str, str], code: str | None = None,
               timeout: float = 10.0) -> None:
        """The next transitions are exactly `want` (old, new); the last one carries exit-code
        `code` when given."""
        deadline = time.monotonic() + timeout
        while len(self.seen) < self.cursor + len(want):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {want}, got {self.seen[self.cursor:]}")
            self._pull(min(remaining, 0.5))
        got = self.seen[self.cursor:self.cursor + len(want)]
        self.cursor += len(want)
        assert [(o, n) for _v, o, n, _c in got] == list(want), got
        if code is not None:
            assert got[-1][3] == code, got

    def quiet(self, seconds: float = 0.3) -> None:
        """No further transition arrives."""
        while self._pull(seconds):
            pass
        assert self.seen[self.cursor:] == []


def host_taps(root: Any) -> dict[str, dict[str, Any]]:
    return {n: i for n, i in sim_state(root)["interfaces"].items() if i["kind"] == "tap"}


def test_commit_start_stop_crash_reboot(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    events = Transitions(vmhvd.connect_uds())
    m.edit_config(config(networks=network_xml("lan", phys="em0"),
                         vms=vm_xml("web", disks={"d0": "1G"}, nics={"nic0": "lan"},
                                    extra="<stop-timeout>2</stop-timeout>")),
                  target="candidate")
    m.commit()

    # The commit made the host objects: datasets, zvol, bridge hv-lan with its uplink.
    host = sim_state(root)
    for ds in ("zroot/hv/vm/web", "zroot/hv/vm/web/disks"):
        assert host["datasets"][ds]["type"] == "filesystem"
    zvol = host["datasets"]["zroot/hv/vm/web/disks/d0"]
    assert zvol["type"] == "volume" and zvol["props"]["volsize"] == str(1 << 30)
    assert host["interfaces"]["hv-lan"]["kind"] == "bridge"
    assert host["interfaces"]["hv-lan"]["members"] == ["em0"]
    assert host_taps(root) == {} and host["vmm"] == {}
    assert vm_state(m, "web")["status"] == "stopped"

    # start-vm: running, a live pid, the console, a tap on the bridge, a /dev/vmm instance.
    standin(root, "web")
    start_vm(m, "web")
    events.expect(("stopped", "starting"), ("starting", "running"))
    guest_ready(root, "web")
    st = vm_state(m, "web")
    pid = int(st["pid"])
    assert st["status"] == "running" and alive(pid)
    assert st["console"] == str(root / ".sim/dev/nmdm-web.1B")  # the sim's nmdm stand-in
    assert st["host-backend"] == "sim" and st["pending-restart"] == "false"
    host = sim_state(root)
    assert st["tap"] == list(host_taps(root)) == ["tap0"]
    assert host["interfaces"]["hv-lan"]["members"] == ["em0", "tap0"]
    assert host["vmm"] == {"web": {"pid": pid}}

    # A graceful stop: the stand-in powers off on SIGTERM; tap and instance are gone.
    stop_vm(m, "web")
    st = vm_state(m, "web")
    assert st["status"] == "stopped" and "pid" not in st and st["tap"] == []
    assert st["last-exit-code"] == "1"
    events.expect(("running", "stopping"), ("stopping", "stopped"), code="1")
    assert not alive(pid)
    host = sim_state(root)
    assert host_taps(root) == {} and host["vmm"] == {}
    assert host["interfaces"]["hv-lan"]["members"] == ["em0"]

    # A triple fault with on-crash stop (the default): crashed, cleaned up.
    start_vm(m, "web")
    events.expect(("stopped", "starting"), ("starting", "running"))
    pid = int(vm_state(m, "web")["pid"])
    guest_ready(root, "web", 2)
    guest_exit(root, "web", 3)
    events.expect(("running", "crashed"), code="3")
    st = vm_state(m, "web")
    assert st["status"] == "crashed" and st["last-exit-code"] == "3"
    assert "triple" in st["last-exit-reason"]
    assert not alive(pid) and host_taps(root) == {} and sim_state(root)["vmm"] == {}

    # on-crash restart: the same crash brings the VM back with a new pid.
    m.edit_config(config(vms=vm_xml("web", extra="<on-crash>restart</on-crash>")),
                  target="running")
    start_vm(m, "web")
    events.expect(("crashed", "starting"), ("starting", "running"))
    pid = int(vm_state(m, "web")["pid"])
    guest_ready(root, "web", 3)
    guest_exit(root, "web", 3)
    events.expect(("running", "starting"), ("starting", "running"), code=None)
    guest_ready(root, "web", 4)
    st = vm_state(m, "web")
    new_pid = int(st["pid"])
    assert st["status"] == "running" and new_pid != pid and alive(new_pid) and not alive(pid)
    assert st["last-exit-code"] == "3"
    assert sim_state(root)["vmm"] == {"web": {"pid": new_pid}}

    # A guest reboot (exit 0, on-reboot restart by default): running again, new pid.
    guest_exit(root, "web", 0)
    events.expect(("running", "starting"), ("starting", "running"))
    guest_ready(root, "web", 5)
    st = vm_state(m, "web")
    assert st["status"] == "running" and st["last-exit-code"] == "0"
    assert int(st["pid"]) not in (pid, new_pid) and alive(int(st["pid"]))
    assert list(host_taps(root)) == ["tap0"]

    stop_vm(m, "web")
    events.expect(("running", "stopping"), ("stopping", "stopped"))
    assert host_taps(root) == {} and sim_state(root)["vmm"] == {}
    stop_vm(m, "web")  # stopping a stopped VM changes nothing
    events.quiet()


def test_running_vm_cpu_change_then_destroy_in_a_commit(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    events = Transitions(vmhvd.connect_uds())
    m.edit_config(config(networks=network_xml("lan"),
                         vms=vm_xml("db", disks={"d0": "1G"}, nics={"nic0": "lan"},
                                    extra="<stop-timeout>2</stop-timeout>")),
                  target="running")
    standin(root, "db")
    start_vm(m, "db")
    events.expect(("stopped", "starting"), ("starting", "running"))
    guest_ready(root, "db")
    pid = int(vm_state(m, "db")["pid"])
    host_before = sim_state(root)

    # A CPU change of a running VM does not touch the guest: it applies at the next start.
    m.edit_config(config(vms=vm_xml("db", extra="<cpu>4</cpu>")), target="candidate")
    m.commit()
    st = vm_state(m, "db")
    assert st["pending-restart"] == "true" and st["status"] == "running"
    assert int(st["pid"]) == pid and alive(pid)
    assert sim_state(root) == host_before
    events.quiet(0.1)

    # Removing the running VM in a commit stops it first, then destroys its datasets, and
    # with them its files (the run state, the console log), as zfs destroy does.
    vm_files = {p.relative_to(root / "vm/db").as_posix() for p in (root / "vm/db").rglob("*")}
    assert {"config.xml", "state"} <= vm_files
    m.edit_config(config(vms=vm_xml("db", op="delete")), target="candidate")
    m.commit()
    events.expect(("running", "stopping"), ("stopping", "stopped"))
    assert not alive(pid)
    host = sim_state(root)
    assert not [d for d in host["datasets"] if d.startswith("zroot/hv/vm/db")]
    assert host_taps(root) == {} and host["vmm"] == {}
    assert host["interfaces"]["hv-lan"]["members"] == []
    on_disk(m)
    assert not (root / "vm/db").exists()
    assert vm_state(m, "db") == {"tap": []}
