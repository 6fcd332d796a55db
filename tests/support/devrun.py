"""`make run` (hvd_netconf.devrun) in a child process, read until its banner is out: for tests
and benchmarks that must meet the daemon exactly as a developer starts it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path


def start_devrun(cwd: Path, run_dir: str = "run", timeout: float = 30
                 ) -> tuple[subprocess.Popen[str], str]:
    """(the process, everything it printed up to and with its banner)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hvd_netconf.devrun", "--dir", run_dir, "--port", "0"],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = ""
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while "Stop with Ctrl-C" not in out:
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            stop_devrun(proc)
            raise RuntimeError(f"devrun did not come up:\n{out}")
        out += line
    return proc, out


def stop_devrun(proc: subprocess.Popen[str]) -> tuple[int, str]:
    """Ctrl-C it, as a developer would; (its exit status, what it printed after the banner)."""
    proc.send_signal(signal.SIGINT)
    try:
        rest, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        rest, _ = proc.communicate()
    return proc.returncode, rest
