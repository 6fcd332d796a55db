"""`make run`'s launcher: it starts hvd on the sim host, creates the example through hv and
prints connection instructions that work (checked here with the lean hv client and ncclient
over SSH with the printed key)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from ncclient import manager


class DevRun:
    """`make run`'s launcher in a tmp dir on a free port, read up to its banner."""

    def __init__(self, run_dir: Path, *extra: str) -> None:
        self.run_dir = run_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hvd_netconf.devrun", "--dir", str(run_dir), "--port", "0",
             *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.out = ""
        self.rest = ""

    def banner(self) -> str:
        deadline = time.monotonic() + 30
        assert self.proc.stdout is not None
        while "Stop with Ctrl-C" not in self.out:
            line = self.proc.stdout.readline()
            assert line, f"devrun ended early:\n{self.out}"
            self.out += line
            assert time.monotonic() < deadline, self.out
        return self.out

    def ssh(self) -> manager.Manager:
        """ncclient over SSH with the login the banner prints."""
        port = int(re.search(r"NETCONF/SSH:\s+127\.0\.0\.1:(\d+)", self.out).group(1))
        user, key = re.search(r"user (\S+), key (\S+id_ed25519)", self.out).groups()
        return manager.connect(host="127.0.0.1", port=port, username=user, key_filename=key,
                               hostkey_verify=False, allow_agent=False, look_for_keys=False,
                               timeout=20)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.rest, _ = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rest, _ = self.proc.communicate()
        return self.proc.returncode


def test_make_run_serves_an_example_reachable_as_printed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    dev = DevRun(run_dir)
    try:
        out = dev.banner()
        assert "SIMULATED host" in out
        assert re.search(r"demo\s+stopped\s+1\s+512M\s+disk0:8G\s+lan", out), out
        sock = run_dir / "hvd.sock"
        listed = subprocess.run([sys.executable, "-m", "hv_cli.main", "list", "network"],
                                env=dict(os.environ, HV_SOCKET=str(sock)),
                                capture_output=True, text=True, timeout=30)
        assert listed.returncode == 0 and "hv-lan" in listed.stdout, listed
        with dev.ssh() as m:
            assert "<name>demo</name>" in m.get_config("running").xml
    finally:
        status = dev.stop()
    assert status == 0, f"devrun exited {status}:\n{dev.out}{dev.rest}"
    assert not (run_dir / "hvd.sock").exists(), dev.rest


EDIT = """<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
  <vms xmlns="urn:hvd:vm"><vm><name>demo</name><cpu>2</cpu></vm></vms></config>"""


def test_the_printed_ssh_login_may_lock_and_write(tmp_path: Path) -> None:
    dev = DevRun(tmp_path / "run")
    try:
        dev.banner()
        with dev.ssh() as m:
            m.lock("running")
            m.edit_config(target="running", config=EDIT)
            m.unlock("running")
            assert "<cpu>2</cpu>" in m.get_config("running").xml
    finally:
        assert dev.stop() == 0, dev.rest


def test_the_pid_file_is_where_the_config_says(tmp_path: Path) -> None:
    pid_file = tmp_path / "elsewhere" / "dev.pid"
    pid_file.parent.mkdir()
    config = tmp_path / "hvd.conf"
    config.write_text(f'pid-file = "{pid_file}"\n')
    dev = DevRun(tmp_path / "run", "--config", str(config))
    try:
        dev.banner()
        assert pid_file.read_text() == f"{dev.proc.pid}\n"
    finally:
        assert dev.stop() == 0, dev.rest
    assert not pid_file.exists()


def test_a_broken_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "hvd.conf"
    config.write_text("max-sessions = [oops\n")
    r = subprocess.run([sys.executable, "-m", "hvd_netconf.devrun", "--dir", str(tmp_path / "r"),
                        "--port", "0", "--config", str(config)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith(f"hvd-devrun: {config}: ") and r.stderr.count("\n") == 1, r.stderr
    config.write_text('backend = "qemu"\n')
    r = subprocess.run([sys.executable, "-m", "hvd_netconf.devrun", "--dir", str(tmp_path / "r"),
                        "--port", "0", "--config", str(config)],
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stderr) == (2, f"hvd-devrun: {config}: backend must be one of "
                                           "auto, freebsd, sim\n")


def test_a_broken_stored_config_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "run" / "root" / "vm" / "web" / "config.xml"
    broken.parent.mkdir(parents=True)
    broken.write_text("<vm xmlns='urn:hvd:vm'><name>web</name><cpu>2</cpu\n")
    r = subprocess.run([sys.executable, "-m", "hvd_netconf.devrun", "--dir", str(tmp_path / "run"),
                        "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.splitlines()[-1].startswith(f"hvd-devrun: cannot start: {broken}: XML is "
                                                "not well-formed"), r.stderr
