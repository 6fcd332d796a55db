"""The supervisor against the sim host, with real stand-in guests as child processes."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from hvd_netconf.errors import DataMissing, InUse, OperationFailed
from hvd_netconf.host import names


def test_start_runs_a_live_guest_on_tapped_bridge(env) -> None:
    env.add_vm("web", "<cpu>2</cpu><memory>1024</memory>", nics=2)
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    st = sup.status("web")
    assert st["status"] == "running"
    pid = st["pid"]
    assert env.alive(pid) and env.host.process_matches(pid, "web")
    assert sup.is_running("web")
    # The sim's stand-in for /dev/nmdm-web.1B: a symlink to the pty the guest holds.
    assert st["console"] == str(env.root / ".sim/dev/nmdm-web.1B")
    assert os.readlink(st["console"]).startswith("/dev/pts/")
    assert st["tap"] == ["tap0", "tap1"] == env.taps()
    assert env.members() == ["tap0", "tap1"]
    assert env.sim()["interfaces"]["tap0"]["descr"] == "hvd:vm/web/nic0"
    assert "web" in env.host.vmm_instances()
    assert st["pending-restart"] is False and st["host-backend"] == "sim"
    assert (env.root / "vm/web/state/pid").read_text().strip() == str(pid)
    run = json.loads((env.root / "vm/web/state/run.json").read_text())
    assert run["argv"][:5] == ["bhyve", "-c", "2", "-m", "1024M"]
    assert f"4,virtio-net,tap0,mac={names.mac_address('web', 'nic0')}" in run["argv"]
    assert (env.root / "vm/web/uefi-vars.fd").read_text().startswith("placeholder BHYVE_UEFI_VARS")
    log = (env.root / "vm/web/state/bhyve.log").read_text()
    assert "hvd-standin (simulated bhyve, not a real VM) web: guest running" in log
    assert env.events.of("web") == [("stopped", "starting"), ("starting", "running")]
    with pytest.raises(InUse):
        sup.start("web")
    sup.stop("web")


def test_graceful_stop_cleans_up_everything(env) -> None:
    env.add_vm("web", nics=2)
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    pid = sup.status("web")["pid"]
    sup.stop("web")
    st = sup.status("web")
    assert st["status"] == "stopped" and st["pid"] is None and st["tap"] == []
    assert st["last-exit-code"] == 1
    assert "the guest powered off (exit 1)" in st["last-exit-reason"]
    assert "guest powered off" in st["last-exit-reason"].split(": ", 1)[1]
    assert not env.alive(pid)
    assert env.taps() == [] and env.members() == []
    assert "web" not in env.host.vmm_instances()
    assert not (env.root / "vm/web/state/pid").exists()
    events = [e for e in env.events.items if e[0] == "web"]
    assert [(o, n) for _, o, n, _, _ in events] == [
        ("stopped", "starting"), ("starting", "running"), ("running", "stopping"),
        ("stopping", "stopped")]
    assert events[-1][4] == 1
    sup.stop("web")  # stopping a stopped VM is a no-op
    with pytest.raises(DataMissing):
        sup.stop("nosuch")


def test_force_stop_powers_off_at_once(env) -> None:
    env.add_vm("win", "<stop-timeout>600</stop-timeout>", standin={"ignore_sigterm": True})
    sup = env.supervisor()
    sup.start("win")
    env.ready("win")
    t0 = time.monotonic()
    sup.stop("win", force=True)
    assert time.monotonic() - t0 < 3
    st = sup.status("win")
    assert st["status"] == "stopped" and st["last-exit-code"] == 1
    log = (env.root / "vm/win/state/bhyve.log").read_text()
    assert "forced power-off" in log and "ACPI" not in log
    assert env.taps() == [] and "win" not in env.host.vmm_instances()


def test_guest_ignoring_acpi_is_powered_off_after_the_timeout(env) -> None:
    env.add_vm("win", standin={"ignore_sigterm": True})
    sup = env.supervisor()
    sup.start("win")
    env.ready("win")
    t0 = time.monotonic()
    sup.stop("win", timeout=0.4)
    elapsed = time.monotonic() - t0
    assert 0.4 <= elapsed < 3
    log = (env.root / "vm/win/state/bhyve.log").read_text()
    assert "the guest ignores it" in log and "forced power-off" in log
    assert sup.status("win")["status"] == "stopped"
    assert env.taps() == [] and "win" not in env.host.vmm_instances()


def test_sigkill_when_force_poweroff_does_not_help(env) -> None:
    env.add_vm("stuck", standin={"ignore_sigterm": True})
    sup = env.supervisor(kill_grace=0.3)
    sup.start("stuck")
    env.ready("stuck")
    pid = sup.status("stuck")["pid"]
    env.host.inject_fault(("bhyvectl", "--vm=stuck", "--force-poweroff"), "vm_run: Device busy")
    t0 = time.monotonic()
    sup.stop("stuck", timeout=0.2)
    assert time.monotonic() - t0 >= 0.5  # the timeout, then the grace after the failed poweroff
    log = (env.root / "vm/stuck/state/bhyve.log").read_text()
    assert "forced power-off" not in log
    st = sup.status("stuck")
    assert st["status"] == "stopped" and st["last-exit-code"] == -9
    assert "killed by signal 9 (SIGKILL)" in st["last-exit-reason"]
    assert not env.alive(pid) and env.taps() == []


def test_crash_with_on_crash_stop_is_crashed(env) -> None:
    env.add_vm("db")
    sup = env.supervisor()
    sup.start("db")
    env.ready("db")
    env.make_exit("db", 3)
    env.wait_for(lambda: sup.status("db")["status"] == "crashed")
    st = sup.status("db")
    assert st["last-exit-code"] == 3 and "triple-faulted (exit 3)" in st["last-exit-reason"]
    assert "exiting with status 3" in st["last-exit-reason"]
    assert env.taps() == [] and "db" not in env.host.vmm_instances()
    assert env.events.items[-1][1:3] == ("running", "crashed")
    assert env.events.items[-1][4] == 3
    assert not sup.is_running("db")
    sup.start("db")  # a crashed VM can be started again
    assert sup.status("db")["status"] == "running"
    sup.stop("db")


def test_crash_with_on_crash_restart_runs_again(env) -> None:
    env.add_vm("db", "<on-crash>restart</on-crash>")
    sup = env.supervisor()
    sup.start("db")
    env.ready("db")
    pid = sup.status("db")["pid"]
    env.make_exit("db", 4)
    env.wait_for(lambda: sup.status("db")["pid"] not in (None, pid)
                 and sup.status("db")["status"] == "running")
    new = sup.status("db")["pid"]
    assert env.alive(new) and not env.alive(pid)
    assert sup.status("db")["last-exit-code"] == 4
    assert env.events.of("db")[-2:] == [("running", "starting"), ("starting", "running")]
    assert env.taps() == ["tap0"] and env.members() == ["tap0"]
    sup.stop("db")


def test_reboot_restarts_without_the_install_iso(env) -> None:
    iso = env.root / "os.iso"  # the sim's bhyve, like bhyve, opens it
    iso.write_bytes(b"\0" * 2048)
    env.add_vm("inst", f"<install-iso>{iso}</install-iso>")
    sup = env.supervisor()
    sup.start("inst")
    env.ready("inst")
    pid = sup.status("inst")["pid"]
    argv = json.loads((env.root / "vm/inst/state/run.json").read_text())["argv"]
    assert f"3,ahci-cd,{iso},ro" in argv
    env.make_exit("inst", 0)
    env.wait_for(lambda: sup.status("inst")["pid"] not in (None, pid)
                 and sup.status("inst")["status"] == "running")
    argv = json.loads((env.root / "vm/inst/state/run.json").read_text())["argv"]
    assert f"3,ahci-cd,{iso},ro" not in argv
    st = sup.status("inst")
    assert st["last-exit-code"] == 0 and "rebooted" in st["last-exit-reason"]
    assert st["pending-restart"] is False
    assert env.events.of("inst")[-2:] == [("running", "starting"), ("starting", "running")]
    sup.stop("inst")


def test_poweroff_and_halt_follow_on_poweroff(env) -> None:
    env.add_vm("a", "<on-poweroff>restart</on-poweroff>")
    env.add_vm("b", nics=0)
    sup = env.supervisor()
    sup.start("a")
    env.ready("a")
    sup.start("b")
    env.ready("b")
    pid = sup.status("a")["pid"]
    env.make_exit("a", 2)
    env.make_exit("b", 2)
    env.wait_for(lambda: sup.status("b")["status"] == "stopped")
    assert "halted (exit 2)" in sup.status("b")["last-exit-reason"]
    env.wait_for(lambda: sup.status("a")["pid"] not in (None, pid)
                 and sup.status("a")["status"] == "running")
    sup.stop("a")


def test_reboot_with_on_reboot_stop(env) -> None:
    env.add_vm("once", "<on-reboot>stop</on-reboot>")
    sup = env.supervisor()
    sup.start("once")
    env.ready("once")
    env.make_exit("once", 0)
    env.wait_for(lambda: sup.status("once")["status"] == "stopped")
    assert env.events.items[-1][1:] == ("running", "stopped", env.events.items[-1][3], 0)
    assert len(env.host.children) == 1 and env.taps() == []


def test_crash_loop_guard(env) -> None:
    env.add_vm("flaky", "<on-crash>restart</on-crash>")
    sup = env.supervisor(crash_limit=2, crash_window=60.0)
    sup.start("flaky")
    env.ready("flaky")
    for _ in range(2):
        pid = sup.status("flaky")["pid"]
        env.make_exit("flaky", 3)
        env.wait_for(lambda p=pid: sup.status("flaky")["pid"] not in (None, p)
                     and sup.status("flaky")["status"] == "running")
    env.make_exit("flaky", 3)
    env.wait_for(lambda: sup.status("flaky")["status"] == "crashed")
    assert "triple-faulted (exit 3)" in sup.status("flaky")["last-exit-reason"]
    assert env.events.items[-1][3].endswith("not restarted: 2 restarts after crashes within 60 s")
    assert env.taps() == []
    # A start by the operator resets the guard.
    sup.start("flaky")
    env.ready("flaky")
    pid = sup.status("flaky")["pid"]
    env.make_exit("flaky", 3)
    env.wait_for(lambda: sup.status("flaky")["pid"] not in (None, pid)
                 and sup.status("flaky")["status"] == "running")
    sup.stop("flaky")


def test_readoption_by_a_restarted_hvd(env) -> None:
    env.add_vm("web", nics=2)
    first = env.supervisor()
    first.start("web")
    env.ready("web")
    pid = first.status("web")["pid"]
    first.detach()  # hvd exits; the guest keeps running
    second = env.supervisor()
    assert second.adopt() == {"web": "adopted"}
    st = second.status("web")
    assert st["status"] == "running" and st["pid"] == pid and st["tap"] == ["tap0", "tap1"]
    assert st["uptime"] is not None and st["pending-restart"] is False
    # what it was started with survives in run.json: a change after adoption is still seen
    env.config.networks["lan"] = 9000
    assert second.status("web")["pending-restart"] is True
    env.config.networks["lan"] = 1500
    with pytest.raises(InUse):
        second.start("web")
    assert len(env.host.children) == 1  # never started twice
    assert second.adopt() == {}  # already adopted: nothing to do
    assert second.snapshot()["web"]["pid"] == pid
    second.stop("web")
    st = second.status("web")
    assert st["status"] == "stopped" and st["last-exit-code"] is None
    assert "status unknown" in st["last-exit-reason"]
    assert not env.alive(pid)
    assert env.taps() == [] and env.members() == [] and "web" not in env.host.vmm_instances()


def test_adopted_guest_that_exits_by_itself_is_cleaned_up(env) -> None:
    env.add_vm("web", "<on-poweroff>restart</on-poweroff>")
    first = env.supervisor()
    first.start("web")
    env.ready("web")
    first.detach()
    second = env.supervisor()
    second.adopt()
    env.make_exit("web", 1)
    env.wait_for(lambda: second.status("web")["status"] == "stopped")
    assert env.taps() == [] and "web" not in env.host.vmm_instances()


def test_stale_instance_and_taps_are_cleaned_up_at_start(env) -> None:
    env.add_vm("old")
    env.add_vm("ghost")
    env.add_vm("idle")
    sup = env.supervisor()
    sup.start("old")
    env.ready("old")
    rec = sup.status("old")
    pid = rec["pid"]
    sup.detach()
    # The guest dies while no hvd watches it: the instance and the tap stay behind.
    os.kill(pid, 9)
    env.wait_for(lambda: not env.alive(pid))
    # An instance with no process and no record at all.
    env.host.run(("bhyvectl", "--vm=ghost", "--create"))
    assert env.taps() == ["tap0"]
    again = env.supervisor()
    assert again.adopt() == {"old": "cleaned", "ghost": "cleaned", "idle": "stopped"}
    assert env.host.vmm_instances() == set()
    assert env.taps() == [] and env.members() == []
    assert not (env.root / "vm/old/state/pid").exists()
    assert again.status("old")["status"] == "stopped"
    again.start("old")
    env.ready("old")
    assert again.status("old")["status"] == "running"
    again.stop("old")


def test_start_removes_a_stale_instance_first(env) -> None:
    env.add_vm("web")
    env.host.run(("bhyvectl", "--vm=web", "--create"))
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    assert sup.status("web")["status"] == "running"
    sup.stop("web")


def test_autostart_order_delay_and_reverse_shutdown(env) -> None:
    env.add_vm("c", "<autostart><enabled>true</enabled><order>30</order></autostart>", nics=0)
    env.add_vm("a", "<autostart><enabled>true</enabled><order>10</order>"
               "<delay>1</delay></autostart>", nics=0)
    env.add_vm("b", "<autostart><enabled>true</enabled><order>20</order></autostart>", nics=0)
    env.add_vm("manual", nics=0)
    sup = env.supervisor()
    assert sup.autostart() == ["a", "b", "c"]
    when = env.events.when
    assert when("b", "starting") - when("a", "running") >= 1.0  # a's delay
    assert when("c", "starting") - when("b", "running") < 1.0
    assert not sup.is_running("manual")
    assert all(sup.is_running(n) for n in "abc")
    snap = sup.snapshot()
    assert sorted(snap) == ["a", "b", "c", "manual"]
    assert [snap[n]["status"] for n in ("a", "b", "c", "manual")] == ["running"] * 3 + ["stopped"]
    del env.config.vms["b"]  # deleted from the config while running: still reported
    assert sorted(sup.snapshot()) == ["a", "b", "c", "manual"]
    assert sup.status("b")["pending-restart"] is True
    env.events.items.clear()
    assert sup.shutdown_all() == ["c", "b", "a"]
    stopped = [n for n, _o, new, _r, _c in env.events.items if new == "stopped"]
    assert stopped == ["c", "b", "a"]


def test_failed_start_undoes_its_taps(env) -> None:
    env.add_vm("web", nics=2)
    env.config.networks["dmz"] = 1500  # configured, but its bridge was never created
    env.config.vms["web"] += "<nic><name>nic9</name><network>dmz</network></nic>"
    sup = env.supervisor()
    with pytest.raises(OperationFailed, match=r"BRDGADD|does not exist"):
        sup.start("web")
    assert sup.status("web")["status"] == "stopped"
    assert env.taps() == [] and env.members() == []
    assert env.events.of("web") == [("stopped", "starting"), ("starting", "stopped")]
    assert "start failed" in env.events.items[-1][3]


def test_unknown_network_and_vm(env) -> None:
    env.add_vm("web")
    env.config.vms["web"] += "<nic><name>x</name><network>nowhere</network></nic>"
    sup = env.supervisor()
    with pytest.raises(OperationFailed, match="network 'nowhere'"):
        sup.start("web")
    with pytest.raises(DataMissing):
        sup.start("nosuch")
    with pytest.raises(DataMissing):
        sup.status("nosuch")


def test_host_limits_are_checked_before_anything_is_made(env) -> None:
    env.add_vm("big", "<cpu>32</cpu>")
    env.add_vm("a" * 32)
    sup = env.supervisor()
    with pytest.raises(OperationFailed, match=r"32 vCPUs, but this host allows 16"):
        sup.start("big")
    with pytest.raises(OperationFailed, match="longer than bhyve's 31 bytes"):
        sup.start("a" * 32)
    assert env.taps() == [] and env.host.children == []


def test_missing_firmware_is_reported(env) -> None:
    env.add_vm("web")
    sup = env.supervisor(firmware_dir=str(env.root / "nofirmware"))
    with pytest.raises(OperationFailed, match=r"BHYVE_UEFI_CODE\.fd"):
        sup.start("web")
    assert env.taps() == []


def test_pending_restart_after_a_hardware_change(env) -> None:
    env.add_vm("web", "<cpu>2</cpu><description>x</description>")
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    env.config.vms["web"] = env.config.vms["web"].replace("<description>x</description>",
                                                          "<description>y</description>")
    assert sup.status("web")["pending-restart"] is False
    env.config.vms["web"] = env.config.vms["web"].replace("<cpu>2</cpu>", "<cpu>4</cpu>")
    assert sup.status("web")["pending-restart"] is True
    sup.restart("web")
    st = sup.status("web")
    assert st["status"] == "running" and st["pending-restart"] is False
    run = json.loads((env.root / "vm/web/state/run.json").read_text())
    assert run["argv"][1:3] == ["-c", "4"]
    sup.stop("web")


def test_bhyveload_guest_runs_the_loader_first(env) -> None:
    env.add_vm("bsd", "<loader><type>bhyveload</type></loader>"
               "<disk><name>root</name><size>1G</size></disk>")
    sup = env.supervisor()
    sup.start("bsd")
    env.ready("bsd")
    log = (env.root / "vm/bsd/state/bhyve.log").read_text()
    assert log.index("simulated bhyveload") < log.index("simulated bhyve,")
    assert sup.status("bsd")["status"] == "running"
    assert len(env.host.children) == 2
    sup.stop("bsd")


def test_failing_loader_fails_the_start(env) -> None:
    env.add_vm("deb", "<loader><type>grub</type></loader>"
               "<disk><name>sys</name><size>1G</size></disk>", standin={"loader_exit": 2})
    sup = env.supervisor()
    with pytest.raises(OperationFailed, match=r"grub-bhyve exited with status 2: .*loader failed"):
        sup.start("deb")
    assert (env.root / "vm/deb/state/device.map").read_text() == (
        "(hd0) /dev/zvol/zroot/hv/vm/deb/disks/sys\n")
    assert sup.status("deb")["status"] == "stopped"
    assert env.taps() == [] and "deb" not in env.host.vmm_instances()


def test_concurrent_starts_start_once(env) -> None:
    env.add_vm("web")
    sup = env.supervisor()
    outcomes: list[str] = []

    def start() -> None:
        try:
            sup.start("web")
            outcomes.append("started")
        except InUse:
            outcomes.append("in-use")

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["in-use", "in-use", "in-use", "started"]
    assert len(env.host.children) == 1 and env.taps() == ["tap0"]
    env.ready("web")
    sup.stop("web")


def test_stop_during_the_loader_phase(env) -> None:
    env.add_vm("bsd", "<loader><type>bhyveload</type></loader>"
               "<disk><name>root</name><size>1G</size></disk>", standin={"loader_delay": 30})
    sup = env.supervisor()
    starter = threading.Thread(target=sup.start, args=("bsd",))
    starter.start()
    env.wait_for(lambda: sup.status("bsd")["pid"] is not None)
    loader = sup.status("bsd")["pid"]
    t0 = time.monotonic()
    sup.stop("bsd")
    starter.join(10)
    assert time.monotonic() - t0 < 5
    assert not env.alive(loader)
    assert sup.status("bsd")["status"] == "stopped"
    assert env.events.of("bsd") == [("stopped", "starting"), ("starting", "stopping"),
                                    ("stopping", "stopped")]
    assert env.taps() == [] and "bsd" not in env.host.vmm_instances()
    assert len(env.host.children) == 1  # bhyve never ran


def test_plan_and_status_agree_on_a_network_mtu_change(env) -> None:
    """One restart decision (bhyve.needs_restart): the commit's plan and the VM's state say the
    same after a change of a network the running VM joins."""
    from hvd_netconf.apply.plan import build_plan
    from hvd_netconf.edit.diff import diff, entries

    env.add_vm("web")
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")

    def plan_pending(old, new):
        return build_plan(diff(old, new), zfs_parent="tank/hv", vms=sup,
                          after=entries(new).get).pending_restart

    before = env.config.root()
    env.config.networks["lan"] = 9000
    after = env.config.root()
    assert sup.status("web")["pending-restart"] is True
    assert plan_pending(before, after) == {"web"}
    env.config.networks["lan"] = 1500
    assert sup.status("web")["pending-restart"] is False
    assert plan_pending(after, env.config.root()) == set()
    sup.stop("web")


def test_a_loader_with_nothing_to_boot_is_refused_and_stays_stopped(env) -> None:
    """bhyveload without a disk or an ISO: the start is refused with the reason, the VM is
    `stopped` (not `starting` for good), and stop and a new start answer at once."""
    env.add_vm("bare", "<loader><type>bhyveload</type></loader>")
    sup = env.supervisor()
    with pytest.raises(OperationFailed, match="bhyveload has nothing to boot: the VM has no disk"):
        sup.start("bare")
    assert sup.status("bare")["status"] == "stopped"
    t0 = time.monotonic()
    sup.stop("bare")
    assert time.monotonic() - t0 < 1
    with pytest.raises(OperationFailed, match="nothing to boot"):
        sup.start("bare")
    assert env.taps() == [] and env.host.children == []


def test_an_iso_only_loader_guest_stops_at_its_first_reboot(env) -> None:
    iso = env.root / "live.iso"  # the sim's bhyve, like bhyve, opens it
    iso.write_bytes(b"\0" * 2048)
    env.add_vm("live", "<loader><type>grub</type></loader>"
               f"<install-iso>{iso}</install-iso>")
    sup = env.supervisor()
    sup.start("live")
    env.ready("live")
    env.make_exit("live", 0)
    env.wait_for(lambda: sup.status("live")["status"] == "stopped")
    reason = sup.status("live")["last-exit-reason"]
    assert "the guest rebooted" in reason and "not restarted" in reason
    assert "nothing to boot" in reason and "install ISO is left out" in reason
    assert env.events.of("live")[-1] == ("running", "stopped")
    assert env.taps() == [] and "live" not in env.host.vmm_instances()


def test_an_unexpected_error_in_a_start_leaves_the_vm_stopped(env, monkeypatch) -> None:
    env.add_vm("web")
    sup = env.supervisor()

    def spawn(argv, *, log_path):
        raise OSError(7, "Argument list too long")

    monkeypatch.setattr(env.host, "spawn", spawn)
    with pytest.raises(OperationFailed, match=r"internal error: .*Argument list too long"):
        sup.start("web")
    assert sup.status("web")["status"] == "stopped"
    assert env.taps() == [] and env.members() == []


def _foreign_bhyve(env, name: str):
    """A bhyve that this hvd did not start (by hand, or another manager's) running VM `name`."""
    log = env.root / f"foreign-{name}.log"
    proc = env.host.spawn(["bhyve", "-c", "1", "-m", "256M", name], log_path=log)
    env.wait_for(lambda: log.exists() and ": guest running" in log.read_text())
    return proc


def test_a_foreign_bhyve_of_the_same_name_is_never_touched(env) -> None:
    """Another bhyve runs VM web: start refuses and names it, adoption leaves it alone, and
    it runs on, its /dev/vmm instance intact, after every attempt."""
    env.add_vm("web")
    foreign = _foreign_bhyve(env, "web")
    before = env.sim()
    sup = env.supervisor()
    with pytest.raises(InUse) as e:
        sup.start("web")
    assert (f"/dev/vmm/web belongs to a process hvd did not start: pid {foreign.pid} "
            "(bhyve: web)") in e.value.message
    assert sup.status("web")["status"] == "stopped"
    # a stale record of an earlier hvd's run of web: adoption must not destroy the instance
    (env.root / "vm/web/state/pid").write_text("999999\n")
    assert env.supervisor().adopt()["web"] == "cleaned"
    assert env.alive(foreign.pid) and env.sim() == before
    assert env.host.vmm_instances() == {"web"}
    foreign.kill()
    foreign.wait(10)
    sup.start("web")  # the instance is stale now: destroyed, and the VM starts
    env.ready("web")
    assert sup.status("web")["status"] == "running"
    sup.stop("web")
