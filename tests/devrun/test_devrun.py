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


def test_make_run_serves_an_example_reachable_as_printed(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hvd_netconf.devrun", "--dir", str(run_dir), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while "Stop with Ctrl-C" not in out:
            line = proc.stdout.readline()
            assert line, f"devrun ended early:\n{out}"
            out += line
            assert time.monotonic() < deadline, out
        assert "SIMULATED host" in out
        assert re.search(r"demo\s+stopped\s+1\s+512M\s+disk0:8G\s+lan", out), out
        sock = run_dir / "hvd.sock"
        listed = subprocess.run([sys.executable, "-m", "hv_cli.main", "list", "network"],
                                env=dict(os.environ, HV_SOCKET=str(sock)),
                                capture_output=True, text=True, timeout=30)
        assert listed.returncode == 0 and "hv-lan" in listed.stdout, listed
        port = int(re.search(r"NETCONF/SSH:\s+127\.0\.0\.1:(\d+)", out).group(1))
        key = re.search(r"key (\S+id_ed25519)", out).group(1)
        with manager.connect(host="127.0.0.1", port=port, username="admin", key_filename=key,
                             hostkey_verify=False, allow_agent=False, look_for_keys=False,
                             timeout=20) as m:
            assert "<name>demo</name>" in m.get_config("running").xml
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0, f"devrun exited {proc.returncode}:\n{out}{rest}"
    assert not (run_dir / "hvd.sock").exists(), rest
