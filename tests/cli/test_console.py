"""`hv console VM` on the sim, driven in a pseudo-terminal as an operator would: the stand-in
guest's banner, a typed line echoed, `~.` to leave, and a second attach refused."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from hv_cli.console import Relay, cu_argv
from support.server import HvdInstance
from support.waiting import wait_for

from tests.cli.conftest import Result

HV = [sys.executable, "-m", "hv_cli.main"]


def hv_console(hvd: HvdInstance, vm: str) -> pexpect.spawn:
    return pexpect.spawn(HV[0], [*HV[1:], "--socket", str(hvd.socket_path), "console", vm],
                         encoding="utf-8", timeout=30, env=dict(os.environ, TERM="dumb"))


@pytest.fixture
def web(hv: Callable[..., Result]) -> None:
    for line in ("create vm web 1 256", "start web"):
        assert hv(line).status == 0, line


def test_console_banner_echo_and_escape(hvd: HvdInstance, hv: Callable[..., Result],
                                        web: None) -> None:
    device = hv("show vm web --json").out
    path = str(hvd.root / ".sim/dev/nmdm-web.1B")
    assert f'"console": "{path}"' in device
    assert os.readlink(path).startswith("/dev/pts/")
    child = hv_console(hvd, "web")
    child.expect("Connected to the console of vm web .*simulated.* Type ~. to leave")
    child.expect("the simulated console of VM web")
    child.expect("web login: ")
    child.send("hello world\r")
    child.expect("hello world\r\n")
    child.expect("you typed 'hello world'")
    child.expect("web login: ")
    child.send("~.")
    child.expect(r"\[EOT\]")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert not (hvd.root / ".sim/dev/LCK..nmdm-web.1B").exists()


def test_a_second_console_is_refused_while_one_is_attached(hvd: HvdInstance,
                                                           web: None) -> None:
    first = hv_console(hvd, "web")
    first.expect("web login: ")
    second = hv_console(hvd, "web")
    second.expect(f"hv: console in use by pid {first.pid}")
    second.expect(pexpect.EOF)
    second.close()
    assert second.exitstatus == 1
    first.send("\r~.")
    first.expect(pexpect.EOF)
    first.close()
    assert first.exitstatus == 0
    again = hv_console(hvd, "web")  # the lock went with the first
    again.expect("web login: ")
    again.send("~.")
    again.expect(pexpect.EOF)
    again.close()
    assert again.exitstatus == 0


def test_a_stale_lock_is_taken_over(hvd: HvdInstance, web: None) -> None:
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    lock = hvd.root / ".sim/dev/LCK..nmdm-web.1B"
    lock.write_text(f"{gone:10d}\n")
    child = hv_console(hvd, "web")
    child.expect("web login: ")
    assert int(lock.read_text()) == child.pid
    child.send("~.")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_the_console_closing_under_the_operator(hvd: HvdInstance, hv: Callable[..., Result],
                                                web: None) -> None:
    child = hv_console(hvd, "web")
    child.expect("web login: ")
    assert hv("stop web force").status == 0
    child.expect("hv: the console of vm web closed: the VM stopped")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    wait_for(lambda: not Path(hvd.root / ".sim/dev/nmdm-web.1B").is_symlink(),
             what="the sim's console pair gone with the VM")


def test_without_a_terminal_the_device_is_printed(hv: Callable[..., Result], hvd: HvdInstance,
                                                  web: None) -> None:
    r = hv("console web")
    assert (r.status, r.out) == (0, f"{hvd.root}/.sim/dev/nmdm-web.1B\n")


def test_a_stopped_vm_has_no_console(hv: Callable[..., Result]) -> None:
    assert hv("create vm web 1 256").status == 0
    r = hv("console web")
    assert (r.status, r.err) == (1, "hv: vm web has no console (is it running, with console "
                                    "nmdm?)\n")


def test_escapes_as_cu_reads_them() -> None:
    relay = Relay(-1, -1, -1)
    assert relay.typed(b"a~b\r~~x\r") == (b"a~b\r~x\r", False)  # ~ mid-line, ~~ sends one
    assert relay.typed(b"~") == (b"", False)  # an escape may span reads
    assert relay.typed(b"q") == (b"~q", False)  # an unknown escape is sent as typed
    assert relay.typed(b"\rls~.\r~.") == (b"\rls~.\r", True)


def test_freebsd_runs_cu_on_the_nmdm_b_side() -> None:
    assert cu_argv("/dev/nmdm-web.1B") == ["cu", "-l", "/dev/nmdm-web.1B"]
