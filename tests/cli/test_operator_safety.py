"""Issue 17, items 1 and 3, as operators meet them: two hv shells on one server at once, and a
confirmed commit that outlives the shell that made it (hv on a terminal, pexpect)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest
from ncclient.xml_ import to_ele
from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, VM
from tests.cli.conftest import Result

Q = Callable[[str], list[str]]
HV = [sys.executable, "-m", "hv_cli.main"]
PROMPT = r"hv\(config\)# "


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The operators' home: where hv keeps the confirm token."""
    return tmp_path


@contextmanager
def hv_shell(hvd: HvdInstance, home: Path, *args: str) -> Iterator[pexpect.spawn]:
    child = pexpect.spawn(HV[0], [*HV[1:], "--socket", str(hvd.socket_path), *args],
                          encoding="utf-8", timeout=30,
                          env=dict(os.environ, TERM="dumb", HOME=str(home)))
    try:
        yield child
    finally:
        child.close(force=True)


def run(sh: pexpect.spawn, line: str, expect: str) -> str:
    """Type a line, wait for `expect`; what came before it."""
    sh.sendline(line)
    sh.expect(expect)
    return sh.before


def memory(running: Q) -> list[str]:
    return running("//vm:vm[vm:name='web']/vm:memory/text()")


def test_two_shells_in_configure_never_mix(hvd: HvdInstance, home: Path, running: Q,
                                           hv: Callable[..., Result]) -> None:
    """A sets 512, B sets 1024, A commits: A's change only, under A's comment; B's commit
    then puts B's value in (private candidates, the default), not 'committed' for nothing."""
    hv("create vm web 1 256")
    with hv_shell(hvd, home) as a, hv_shell(hvd, home) as b:
        for sh in (a, b):
            sh.expect("hv> ")
            run(sh, "configure", PROMPT)
        run(a, "set vm web memory 512", PROMPT)
        run(b, "set vm web memory 1024", PROMPT)
        run(a, "commit comment A", PROMPT)
        assert memory(running) == ["512"]
        # B's change is refused: running changed under it since B's copy was taken.
        out = run(b, "commit comment B", PROMPT)
        assert "running changed since this private candidate was taken, at: vm web" in out
        assert memory(running) == ["512"]
        run(b, "discard", PROMPT)
        run(b, "set vm web memory 1024", PROMPT)
        assert "committed" in run(b, "commit comment B", PROMPT)
        assert memory(running) == ["1024"]
        a.sendline("exit")
        a.expect("hv> ")
        a.sendline("exit")
        a.expect(pexpect.EOF)
    hist = hv("show commits --json")
    comments = [c.get("comment") for c in json.loads(hist.out)]
    assert "A" in comments and "B" in comments


def test_configure_shared_names_what_others_left(hvd: HvdInstance, home: Path, running: Q,
                                                 hv: Callable[..., Result]) -> None:
    """An edit a NETCONF client left in the candidate: the shared shell says so on entry,
    names it and who made it, and asks before its commit takes it."""
    hv("create vm web 1 256")
    with hvd.connect_uds() as client:
        client.edit_config(f'<config><vms xmlns="{VM}"><vm><name>web</name>'
                           "<memory>2048</memory></vm></vms></config>", target="candidate")
        sid = client.session_id
    with hv_shell(hvd, home) as sh:
        sh.expect("hv> ")
        out = run(sh, "configure shared", PROMPT)
        assert "the candidate holds changes other sessions made" in out
        assert f"vm web (by session {sid}, user " in out
        run(sh, "set vm web cpu 2", PROMPT)
        sh.sendline("commit")
        sh.expect(f"vm web \\(by session {sid}")
        sh.expect(r"Commit them too\? \[y/N\] ")
        sh.sendline("n")
        sh.expect("did not commit")
        sh.expect(PROMPT)
        assert memory(running) == ["256"]
        sh.sendline("commit")
        sh.expect(r"Commit them too\? \[y/N\] ")
        sh.sendline("y")
        sh.expect("committed")
        sh.expect(PROMPT)
        assert memory(running) == ["2048"]


def test_configure_exclusive_locks_out_others(hvd: HvdInstance, home: Path) -> None:
    with hv_shell(hvd, home) as sh, hvd.connect_uds() as client:
        sh.expect("hv> ")
        assert "locked for this session" in run(sh, "configure exclusive", PROMPT)
        with pytest.raises(Exception) as ei:
            client.edit_config(f'<config><vms xmlns="{VM}"><vm><name>x</name></vm></vms>'
                               "</config>", target="candidate")
        assert getattr(ei.value, "tag", "") in ("in-use", "lock-denied")
        run(sh, "exit", "hv> ")
        client.lock("candidate")  # the shell let go
        client.unlock("candidate")


def commit_confirmed(sh: pexpect.spawn, hv: Callable[..., Result]) -> str:
    """web's memory 256 -> 512 by a confirmed commit in the shell; what the shell said."""
    hv("create vm web 1 256")
    sh.expect("hv> ")
    run(sh, "configure", PROMPT)
    run(sh, "set vm web memory 512", PROMPT)
    return run(sh, "commit confirmed 5", PROMPT)


def test_commit_confirmed_outlives_its_shell(hvd: HvdInstance, home: Path, running: Q,
                                             hv: Callable[..., Result]) -> None:
    """The shell exits (asking first); the commit stays pending; 'hv confirm' from another
    process confirms it with the token hv kept."""
    with hv_shell(hvd, home) as sh:
        out = commit_confirmed(sh, hv)
        assert "'hv confirm' from any shell" in out
        run(sh, "exit", "hv> ")
        sh.sendline("exit")
        sh.expect("not confirmed yet")
        sh.expect(r"Leave the shell anyway\? \[y/N\] ")
        sh.sendline("y")
        sh.expect(pexpect.EOF)
    assert memory(running) == ["512"]  # not reverted by the session's end
    with hvd.connect_uds() as client:  # an edit left in the shared candidate stays out of it
        client.edit_config(f'<config><vms xmlns="{VM}"><vm><name>web</name>'
                           "<cpu>4</cpu></vm></vms></config>", target="candidate")
    with hv_shell(hvd, home, "confirm") as one_shot:
        one_shot.expect("confirmed")
        one_shot.expect(pexpect.EOF)
    assert memory(running) == ["512"]
    assert running("//vm:vm[vm:name='web']/vm:cpu/text()") == ["1"]
    assert hvd.server.committer is not None and hvd.server.committer.pending is None
    with hv_shell(hvd, home, "confirm") as again:  # nothing pending, no token left
        again.expect("holds no confirm token")
        again.expect(pexpect.EOF)


def test_the_shell_reports_a_revert(hvd: HvdInstance, home: Path, running: Q,
                                    hv: Callable[..., Result]) -> None:
    """Another session cancels the shell's confirmed commit with its token: the open shell
    prints a line saying the commit was reverted."""
    with hv_shell(hvd, home) as sh:
        out = commit_confirmed(sh, hv)
        token = out.split("--token ")[1].split("'")[0]
        with hvd.connect_uds() as other:
            other.dispatch(to_ele(f'<cancel-commit xmlns="{BASE}"><persist-id>{token}'
                                  "</persist-id></cancel-commit>"))
        sh.expect("the confirmed commit was cancelled and reverted")
        assert memory(running) == ["256"]
