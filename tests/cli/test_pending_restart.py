"""A change a running VM takes only at its next start says so: in the reply, with `*` in
`list vm` and the running value in `show vm`; a restart makes the marks go (sim backend)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from support.server import HvdInstance

from tests.cli.conftest import Result
from tests.cli.test_shell import drive

HV = Callable[..., Result]


def row(hv: HV, name: str) -> list[str]:
    lines = hv("list vm").out.splitlines()
    return next(line.split() for line in lines[1:] if line.split()[0] == name)


def test_memory_of_a_running_vm_waits_for_a_restart(hv: HV) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G", "create vm db 1 256",
                 "add disk db d0 1G", "start web", "start db"):
        assert hv(line).status == 0, line
    r = hv("set vm web memory 4096")
    assert (r.status, r.err) == (0, "")
    assert r.out == ("set memory of vm web to 4096 "
                     "(takes effect at the next start: hv restart web)\n")

    listed = hv("list vm").out.splitlines()
    assert row(hv, "web")[1:4] == ["running*", "1", "4096M*"]
    assert row(hv, "db")[1:4] == ["running", "1", "256M"]
    assert listed[-1] == "* takes effect at the next start (restart the VM)"

    shown = hv("show vm web").out
    assert re.search(r"^  memory\s+4096 MB \(running: 256 MB until restarted\)$", shown, re.M)
    assert re.search(r"^  cpu\s+1$", shown, re.M), shown
    assert "changes take effect at the next start (restart the VM)" in shown
    state = json.loads(hv("show vm web --json").out)["state"]
    assert (state["pending-restart"], state["running-memory"], state["running-cpu"]) == (
        True, 256, 1)

    # a change the running VM does not care about says nothing more
    r = hv("set vm db description primary")
    assert r.out == "set description of vm db to primary\n"

    assert hv("restart web").status == 0
    assert row(hv, "web")[1:4] == ["running", "1", "4096M"]
    assert "*" not in hv("list vm").out
    shown = hv("show vm web").out
    assert "until restarted" not in shown and "next start" not in shown
    assert re.search(r"^    running-memory\s+4096$", shown, re.M), shown


def test_the_shell_says_restart_without_hv(hvd: HvdInstance, hv: HV) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G", "start web"):
        assert hv(line).status == 0, line
    status, out, err = drive(hvd, "set vm web cpu 2\nexit\n")
    assert (status, err) == (0, "")
    assert "set cpu of vm web to 2 (takes effect at the next start: restart web)\n" in out
    assert row(hv, "web")[1:4] == ["running*", "2*", "256M"]


def test_a_commit_says_which_vms_wait(hvd: HvdInstance, hv: HV) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G", "start web",
                 "create vm db 1 256", "add disk db d0 1G", "start db"):
        assert hv(line).status == 0, line
    keys = "configure\nset vm web memory 512\ncommit\nexit\nexit\n"
    status, out, err = drive(hvd, keys)
    assert (status, err) == (0, "")
    assert "committed\nvm web: changes take effect at the next start (restart web)\n" in out
    assert "vm db" not in out
