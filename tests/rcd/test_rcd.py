"""rc.d/hvd under a stub rc.subr: the start command it builds, status, and a graceful stop."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
STUB = Path(__file__).with_name("stub_rc.subr")

# A fake hvd: it records its pid like daemon -p does and, like hvd stopping its VMs,
# takes a moment to exit after SIGTERM.
FAKE_HVD = """
import os, signal, sys, time
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
def term(*_):
    time.sleep(0.5)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
while True:
    time.sleep(0.1)
"""


@pytest.fixture
def rcd(tmp_path: Path) -> dict[str, Path]:
    prefix = tmp_path / "prefix"
    (prefix / "sbin").mkdir(parents=True)
    check_log = tmp_path / "check.log"
    fake = prefix / "sbin" / "hvd"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(check_log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
    )
    fake.chmod(0o755)
    script = (REPO / "rc.d" / "hvd").read_text()
    script = script.replace(". /etc/rc.subr", f". {STUB}")
    script = script.replace("%%PREFIX%%", str(prefix))
    path = tmp_path / "hvd.rc"
    path.write_text(script)
    conf = tmp_path / "rc.conf"
    conf.write_text(
        f'hvd_enable="YES"\nhvd_pidfile="{tmp_path / "hvd.pid"}"\nhvd_stop_timeout=10\n'
        f'hvd_flags="--listen 127.0.0.1:830"\n'
    )
    return {"script": path, "conf": conf, "log": tmp_path / "start.log",
            "check": check_log, "pid": tmp_path / "hvd.pid", "prefix": prefix}


def run(rcd: dict[str, Path], arg: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RC_STUB_CONF=str(rcd["conf"]), RC_STUB_LOG=str(rcd["log"]))
    return subprocess.run(["sh", str(rcd["script"]), arg], env=env, capture_output=True,
                          text=True, timeout=30)


def test_script_is_valid_sh() -> None:
    assert subprocess.run(["sh", "-n", str(REPO / "rc.d" / "hvd")]).returncode == 0


def test_start_runs_host_check_then_hvd_under_daemon(rcd: dict[str, Path]) -> None:
    res = run(rcd, "start")
    assert res.returncode == 0, res.stderr
    assert "Starting hvd." in res.stdout
    prefix = rcd["prefix"]
    assert rcd["log"].read_text().split() == [
        "/usr/sbin/daemon", "-f", "-S", "-T", "hvd", "-p", str(rcd["pid"]),
        f"{prefix}/sbin/hvd", "--config", f"{prefix}/etc/hvd.conf", "--listen", "127.0.0.1:830",
    ]
    assert rcd["check"].read_text().split() == ["--config", f"{prefix}/etc/hvd.conf", "check-host"]


def test_start_refused_unless_enabled(rcd: dict[str, Path]) -> None:
    rcd["conf"].write_text('hvd_enable="NO"\n')
    res = run(rcd, "start")
    assert res.returncode != 0
    assert "Set hvd_enable to YES" in res.stderr
    assert not rcd["log"].exists()


def test_status_and_graceful_stop(rcd: dict[str, Path]) -> None:
    res = run(rcd, "status")
    assert res.returncode == 1 and "hvd is not running." in res.stdout
    proc = subprocess.Popen([sys.executable, "-c", FAKE_HVD, str(rcd["pid"])])
    # Reap it as soon as it exits, as daemon(8) would; a zombie still answers kill -0.
    reaper = threading.Thread(target=proc.wait, daemon=True)
    reaper.start()
    try:
        wait_for(rcd["pid"].exists, 10, "the pid file")
        res = run(rcd, "status")
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"hvd is running as pid {proc.pid}." in res.stdout
        res = run(rcd, "stop")
        assert res.returncode == 0, res.stderr
        assert "Stopping hvd" in res.stdout
        reaper.join(timeout=5)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "hvd is not running." in run(rcd, "status").stdout
