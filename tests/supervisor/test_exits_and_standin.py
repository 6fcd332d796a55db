"""Exit-code meanings, the crash-loop guard, the run record, and the stand-in guest on its own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from support.waiting import wait_for

from hvd_netconf.supervisor.exits import CrashGuard, ExitKind, describe, kind
from hvd_netconf.supervisor.runstate import RunRecord, VmFiles
from hvd_netconf.supervisor.watch import AdoptedProcess


def test_exit_kinds_follow_section_8() -> None:
    assert kind(0) is ExitKind.REBOOT
    assert kind(1) is kind(2) is ExitKind.POWEROFF
    assert kind(3) is kind(4) is kind(71) is kind(-9) is ExitKind.CRASH
    assert kind(None) is ExitKind.UNKNOWN


def test_exit_descriptions_name_the_code() -> None:
    assert describe(0) == "the guest rebooted (exit 0)"
    assert describe(3) == "the guest triple-faulted (exit 3)"
    assert describe(4) == "bhyve exited on an error (exit 4)"
    assert describe(71) == "bhyve failed at start-up or on a host error (EX_OSERR) (exit 71)"
    assert describe(134) == "bhyve exited with status 134 (128 + signal 6) (exit 134)"
    assert describe(9) == "bhyve exited with an unexpected status (exit 9)"
    assert describe(-15) == "bhyve was killed by signal 15 (SIGTERM)"
    assert "status unknown" in describe(None)


def test_crash_guard_window() -> None:
    guard = CrashGuard(limit=2, window=10.0)
    assert guard.allow(0.0) and guard.allow(1.0)
    assert not guard.allow(2.0)
    assert guard.allow(11.5)  # the first restart left the window
    guard.reset()
    assert guard.allow(12.0)


def test_run_record_round_trip_and_garbage(tmp_path: Path) -> None:
    files = VmFiles(tmp_path, "web")
    assert files.load() is None
    rec = RunRecord(42, ["bhyve", "web"], [("tap0", "hv-lan")], 1000.5, False)
    files.save(rec)
    assert files.load() == rec
    assert files.pid.read_text() == "42\n"
    files.run.write_text("{not json")
    assert files.load() == RunRecord(42, [])  # the pid file alone is still a hint
    files.clear()
    assert files.load() is None
    files.ensure()
    files.log.write_text("first\nsecond line\n\n")
    assert files.last_log_line() == "second line"


def spawn_standin(state: Path, *argv: str) -> subprocess.Popen[bytes]:
    state.mkdir(parents=True, exist_ok=True)
    (state / "standin.json").write_text(json.dumps({"poll_interval": 0.01,
                                                    "poweroff_delay": 0.1}))
    err = open(state / "bhyve.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "hvd_netconf.host.sim.standin", *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "HVD_STANDIN_STATE_DIR": str(state)})
    finally:
        err.close()


def wait_running(state: Path) -> None:
    wait_for(lambda: "guest running" in (state / "bhyve.log").read_text(), what="the guest")


def test_standin_exits_with_the_asked_code(tmp_path: Path) -> None:
    for code in (0, 2, 3, 4, 71):
        state = tmp_path / str(code)
        proc = spawn_standin(state, "bhyve", "-c", "1", f"vm{code}")
        try:
            wait_running(state)
            (state / "standin-exit").write_text(f"{code}\n")
            assert proc.wait(10) == code
            assert not (state / "standin-exit").exists()  # consumed
        finally:
            proc.kill()
            proc.wait()


def test_standin_power_button_and_forced_exits(tmp_path: Path) -> None:
    for sig, code in ((signal.SIGTERM, 1), (signal.SIGUSR1, 1), (signal.SIGUSR2, 0)):
        state = tmp_path / sig.name
        proc = spawn_standin(state, "/usr/sbin/bhyve", "web")
        try:
            wait_running(state)
            proc.send_signal(sig)
            assert proc.wait(10) == code
        finally:
            proc.kill()
            proc.wait()
        lines = (state / "bhyve.log").read_text().splitlines()
        # Identifiable as the stand-in on every line; it never says it is bhyve.
        assert lines and all(
            line.startswith("hvd-standin (simulated bhyve, not a real VM) web: ")
            for line in lines)


def test_standin_as_loader(tmp_path: Path) -> None:
    state = tmp_path / "s"
    proc = spawn_standin(state, "bhyveload", "-m", "512M", "-d", "/x", "bsd")
    assert proc.wait(10) == 0
    assert "simulated bhyveload, not a real VM) bsd: loader done" in (
        state / "bhyve.log").read_text()
    proc = spawn_standin(state, "bhyve")
    assert proc.wait(10) == 64


def test_an_adopted_pid_that_is_a_zombie_or_someone_else_is_not_the_guest() -> None:
    """kill(pid, 0) succeeds for a zombie and for a reused pid; neither is the VM any more."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        # A live process that the host does not recognise as this VM's bhyve (a reused pid).
        reused = AdoptedProcess(other.pid, 0.01, lambda: False, recheck=0.05)
        assert reused.send(15) is False and other.poll() is None
        assert reused.wait_exit(threading.Event()) == (True, None)
        # The same pid, exited but not yet reaped by its parent: a zombie.
        other.kill()
        zombie = AdoptedProcess(other.pid, 0.01, lambda: True)
        wait_for(lambda: not zombie.alive(), 5, "the zombie to count as exited")
    finally:
        other.kill()
        other.wait()
