"""`make bench` reads the same with GNU make and FreeBSD's make (bmake): BENCHFLAGS reach the
whole daemon's benchmark, and the targets are only printed here (-n), never run."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# load.py runs 60 s on its own, so `make bench` leaves it out.
LISTED = sorted(set(re.findall(r"^    \.venv/bin/python (tools/bench/\w+\.py)",
                               (REPO / "tools/bench/README.md").read_text(), re.M))
                - {"tools/bench/load.py"})


def _commands(make: str, *args: str) -> list[str]:
    res = subprocess.run([make, "-n", "bench", "VENV=/nonexistent", *args], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return [line.strip() for line in res.stdout.splitlines() if "tools/bench/" in line]


@pytest.mark.parametrize("make", ["make", "bmake"])
def test_benchflags_reach_commit_py_with_either_make(make: str) -> None:
    found = shutil.which(make)
    assert found, f"{make} is missing: make test installs it (tools/install-test-deps.sh)"
    plain = _commands(found)
    assert "/nonexistent/bin/python tools/bench/commit.py" in plain
    # every script of tools/bench/README.md's list but load.py, each once
    assert sorted(c.split()[1] for c in plain) == LISTED
    quick = _commands(found, "BENCHFLAGS=--quick --reads 50")
    assert "/nonexistent/bin/python tools/bench/commit.py --quick --reads 50" in quick
    assert [c for c in quick if "commit.py" not in c] == [c for c in plain
                                                          if "commit.py" not in c]
