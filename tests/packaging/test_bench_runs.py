"""The benchmarks that start hvd in a child process still run against the current code
(their figures are not judged)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_commit_benchmark_runs_with_a_child_hvd() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/commit.py"), "--sizes", "3", "--cycles", "2",
         "--wiring", "store", "full"], capture_output=True, text=True, timeout=120, check=True)
    rows = [line.split() for line in out.stdout.splitlines() if line.split()[:1] == ["3"]]
    assert [r[1] for r in rows] == ["store", "full"]
    assert all(len(r) == 10 and all(float(x) > 0 for x in r[2:]) for r in rows)


def test_rpc_benchmark_runs_with_a_child_hvd() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/rpc.py"), "--count", "4", "--sessions", "1",
         "--sizes", "10", "--runs", "2"], capture_output=True, text=True, timeout=120,
        check=True)
    names = [line.split(" n=")[0].strip() for line in out.stdout.splitlines() if " p50 " in line]
    assert names == [
        "ncclient unix get-config, 1 session(s)", "raw unix get-config, 1 session(s)",
        "ncclient ssh get-config, 1 session(s)", "raw ssh get-config, 1 session(s)",
        "ncclient unix lock+unlock, per RPC", "raw unix lock+unlock, per RPC",
        "ncclient unix", "ncclient ssh", "raw unix (to the last byte)"]
