"""The hvd command: settings, users CLI, root lock, pid file, signals."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support.waiting import wait_for

from hvd_netconf import config, daemon
from hvd_netconf.users import UserDB, verify_password


def test_defaults() -> None:
    args = daemon.build_parser().parse_args([])
    s = config.from_args(args)
    assert s.root == Path("/hv") and s.socket == Path("/var/run/hvd.sock")
    assert s.listen == () and s.backend == "auto"


def test_toml_then_command_line_wins(tmp_path: Path) -> None:
    cfg = tmp_path / "hvd.toml"
    cfg.write_text('root = "/srv/hv"\nsocket = "/tmp/x.sock"\nlisten = ["127.0.0.1:830", '
                   '"[::1]:8300"]\nbackend = "sim"\nidle-timeout = 600\n')
    args = daemon.build_parser().parse_args(["--config", str(cfg), "--root", str(tmp_path),
                                             "--listen", "0.0.0.0:1830"])
    s = config.from_args(args)
    assert s.root == tmp_path and s.socket == Path("/tmp/x.sock") and s.backend == "sim"
    assert s.listen == (("0.0.0.0", 1830),) and s.idle_timeout == 600


@pytest.mark.parametrize(("text", "want"), [
    ("127.0.0.1:830", ("127.0.0.1", 830)), ("[::1]:830", ("::1", 830)),
    ("::1:830", ("::1", 830)), ("host.example:22", ("host.example", 22)),
])
def test_parse_listen(text: str, want: tuple[str, int]) -> None:
    assert config.parse_listen(text) == want


@pytest.mark.parametrize("bad", ["830", ":830", "h:x", "h:70000", "[::1]830"])
def test_parse_listen_bad(bad: str) -> None:
    with pytest.raises(ValueError):
        config.parse_listen(bad)


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        config.from_mapping({"colour": "blue"})
    with pytest.raises(ValueError):
        config.from_mapping({"socket-mode": "0666"})
    with pytest.raises(ValueError):
        config.from_mapping({"backend": "xen"})


def test_user_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "k.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9"
                   "GKJl a@b\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cret\n"))
    assert daemon.main(["user", "--root", str(tmp_path), "add", "alice", "--password-stdin",
                        "--authorized-key", str(key), "--group", "ops"]) == 0
    path = tmp_path / ".hvd" / "users.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_text()
    assert "s3cret" not in raw
    stored = json.loads(raw)["users"]["alice"]
    assert stored["password"].startswith("scrypt$16384$")
    assert verify_password("s3cret", stored["password"])
    assert not verify_password("other", stored["password"])
    db = UserDB.for_root(tmp_path)
    assert db.check_password("alice", "s3cret") and not db.check_password("bob", "s3cret")
    assert db.get("alice").groups == ["ops"]
    assert daemon.main(["user", "--root", str(tmp_path), "list"]) == 0
    assert "alice\tops\tpassword 1 keys" in capsys.readouterr().out
    assert daemon.main(["user", "--root", str(tmp_path), "del", "alice"]) == 0
    assert db.get("alice") is None
    assert daemon.main(["user", "--root", str(tmp_path), "del", "alice"]) == 1


def test_same_salt_never_reused(tmp_path: Path) -> None:
    db = UserDB.for_root(tmp_path)
    db.add("a", password="x")
    db.add("b", password="x")
    assert db.get("a").password != db.get("b").password


def _spawn(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hvd_netconf.daemon", "--root", str(tmp_path / "root"),
         "--socket", str(tmp_path / "hvd.sock"), "--backend", "sim", *extra],
        stderr=subprocess.PIPE, text=True)


def _wait(cond, proc: subprocess.Popen[str], timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    def ready() -> bool:
        if cond():
            return True
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        return False

    wait_for(ready, timeout)


def test_daemon_lifecycle(tmp_path: Path) -> None:
    proc = _spawn(tmp_path)
    try:
        sock = tmp_path / "hvd.sock"
        _wait(sock.exists, proc)
        pid_file = tmp_path / "root" / ".hvd" / "hvd.pid"
        assert pid_file.read_text().strip() == str(proc.pid)
        second = _spawn(tmp_path)
        _, err = second.communicate(timeout=10)
        assert second.returncode != 0
        assert f"pid {proc.pid}" in err
        assert sock.exists()  # the loser did not touch the winner's socket
        from ncclient import manager

        m = manager.connect_uds(path=str(sock))
        m.lock("running")
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(10) == 0
        _wait(lambda: not m.connected, proc)  # the live session was closed
        assert not sock.exists() and not pid_file.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_daemon_writes_its_log_file_and_hv_log_reads_it(tmp_path: Path) -> None:
    from hv_cli.main import main as hv

    log_file = tmp_path / "logs" / "hvd.log"
    conf = tmp_path / "hvd.conf"
    conf.write_text(f'log-file = "{log_file}"\n')
    proc = _spawn(tmp_path, "--config", str(conf))
    try:
        sock = tmp_path / "hvd.sock"
        _wait(sock.exists, proc)
        _wait(lambda: log_file.exists() and "serving" in log_file.read_text(), proc)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert hv(["--socket", str(sock), "log", "lines", "1"]) == 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO hvd \d+ serving "
                            rf"{tmp_path}/root on {sock}\n", out.getvalue())
    finally:
        proc.terminate()
        proc.wait(10)
