"""Exit-code meanings, the crash-loop guard, the run record, and adopted guests."""

from __future__ import annotations

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
