"""Destructive commands show what they destroy and ask; scripts pass --yes; without a terminal
and without --yes a destroying change is refused with the preview (hv as a user runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pexpect
from support.server import HvdInstance

from tests.cli.conftest import Result
from tests.cli.test_shell import drive

Q = Callable[[str], list[str]]
HV = [sys.executable, "-m", "hv_cli.main"]


def hv_no_tty(hvd: HvdInstance, line: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HV, "--socket", str(hvd.socket_path), *line.split()],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def answer(hvd: HvdInstance, line: str, shown: list[str], reply: str, then: str) -> int:
    """Run hv on a terminal, wait for each of shown, reply to the question, wait for then;
    the exit status."""
    child = pexpect.spawn(HV[0], [*HV[1:], "--socket", str(hvd.socket_path), *line.split()],
                          encoding="utf-8", timeout=30, env=dict(os.environ, TERM="dumb"))
    for pattern in shown:
        child.expect(pattern)
    child.sendline(reply)
    child.expect(then)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def running_vm_with_disks(hv: Callable[..., Result]) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G", "add disk web d1 2G",
                 "start web"):
        assert hv(line).status == 0, line


def test_destroying_a_running_vm_asks_on_the_terminal(hv: Callable[..., Result],
                                                       hvd: HvdInstance, running: Q) -> None:
    running_vm_with_disks(hv)
    asked = ["this will stop 1 VM, destroy 1 VM, destroy 2 volumes",
             r"destroy vm web\? \[y/N\] "]
    assert answer(hvd, "destroy vm web", asked, "n", "hv: did not destroy vm web") == 1
    assert running("//vm:vm/vm:name/text()") == ["web"]
    assert answer(hvd, "destroy vm web", asked, "y", "destroyed vm web") == 0
    assert running("//vm:vm/vm:name/text()") == []


def test_without_a_terminal_destroying_needs_yes(hv: Callable[..., Result], hvd: HvdInstance,
                                                 running: Q) -> None:
    running_vm_with_disks(hv)
    r = hv_no_tty(hvd, "destroy vm web")
    assert r.returncode == 1
    assert "this will stop 1 VM, destroy 1 VM, destroy 2 volumes" in r.stderr
    assert "zfs destroy -r" in r.stderr  # the plan itself
    assert r.stderr.endswith("hv: refusing to destroy vm web without a terminal to ask on; "
                             "pass --yes to do it\n"), r.stderr
    assert running("//vm:vm/vm:name/text()") == ["web"]
    # The preview left no trace: the candidate is clean and nothing stays locked.
    assert hvd.connect_uds().lock("candidate").ok
    assert hv_no_tty(hvd, "remove disk web d1").returncode == 1  # the lock stops the preview
    r = hv_no_tty(hvd, "destroy vm web --yes")
    assert (r.returncode, r.stdout, r.stderr) == (0, "destroyed vm web\n", "")
    assert running("//vm:vm/vm:name/text()") == []


def test_a_change_that_destroys_nothing_is_not_asked(hv: Callable[..., Result],
                                                     hvd: HvdInstance, running: Q) -> None:
    assert hv("create vm web 1 256").status == 0
    assert hv("add nic web n0 lan").status != 0  # no such network: refused by the server
    assert hv("create network lan 0").status == 0
    assert hv("add nic web n0 lan").status == 0
    r = hv_no_tty(hvd, "remove nic web n0")
    assert (r.returncode, r.stdout) == (0, "removed nic n0 of vm web\n"), r.stderr


def test_one_shot_rollback_shows_the_count_and_asks(hv: Callable[..., Result],
                                                    hvd: HvdInstance, running: Q) -> None:
    assert hv("create network lan 0").status == 0
    for i in range(3):
        assert hv(f"create vm v{i} 1 256").status == 0
        assert hv(f"add disk v{i} d0 1G").status == 0
    r = hv_no_tty(hvd, "rollback 1")  # commit 1 made the network only
    assert r.returncode == 1
    assert "this will destroy 3 VMs, destroy 3 volumes\n" in r.stderr, r.stderr
    assert "pass --yes" in r.stderr
    assert len(running("//vm:vm")) == 3
    asked = ["destroy 3 VMs, destroy 3 volumes", r"roll back to commit 1\? \[y/N\] "]
    assert answer(hvd, "rollback 1", asked, "yes", "rolled back to commit 1") == 0
    assert running("//vm:vm") == [] and running("//net:network/net:name/text()") == ["lan"]


def test_commit_in_configure_mode_asks_when_it_destroys(hv: Callable[..., Result],
                                                       hvd: HvdInstance, running: Q) -> None:
    running_vm_with_disks(hv)
    keys = "configure\ndestroy vm web\ncommit\nn\ncommit\ny\nexit\nexit\n"
    status, out, err = drive(hvd, keys)
    assert status == 0
    assert err.count("this will stop 1 VM, destroy 1 VM, destroy 2 volumes") == 2, err
    assert "hv: did not commit" in err
    assert out.endswith("committed\n"), out
    assert running("//vm:vm") == []


def test_the_shell_asks_before_an_immediate_destroy(hv: Callable[..., Result],
                                                    hvd: HvdInstance, running: Q) -> None:
    running_vm_with_disks(hv)
    status, out, err = drive(hvd, "destroy vm web\nn\ndestroy vm web --yes\nexit\n")
    assert status == 0
    assert err.count("this will stop 1 VM, destroy 1 VM, destroy 2 volumes") == 1, err
    assert "hv: did not destroy vm web" in err
    assert out == "destroyed vm web\n"
    assert running("//vm:vm") == []
