"""The commit benchmark still runs against the current code (its figures are not judged)."""

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
