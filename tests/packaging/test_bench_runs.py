"""The benchmarks that start hvd in a child process still run against the current code
(their figures are not judged)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def commit_rows(*args: str) -> tuple[list[list[str]], str]:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/commit.py"), "--sizes", "3", "--cycles", "2",
         "--reads", "3", *args], capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split() for line in out.splitlines() if line.split()[:1] == ["3"]], out


def test_commit_benchmark_runs_with_a_child_hvd() -> None:
    rows, out = commit_rows("--wiring", "store", "full")
    assert [r[1] for r in rows] == ["store", "full"]
    assert "wiring full: whole daemon (hvd --backend sim: NACM, sim host apply, supervisor)" in out
    assert all(len(r) == 19 for r in rows)
    # every figure is measured; the host apply's share only for the whole daemon
    assert rows[0][4] == "-" and float(rows[1][4]) != 0
    assert all(float(x) > 0 for r in rows for x in r[2:4] + r[5:])


def test_commit_benchmark_measures_the_whole_daemon_by_default() -> None:
    rows, out = commit_rows("--no-share")
    assert [r[1] for r in rows] == ["full"] and rows[0][4] == "-"
    assert "wiring full: whole daemon" in out and "wiring store" not in out


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


def timeline(*args: str) -> tuple[dict[str, list[str]], str]:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/timeline.py"), "--vms", "3", "--cycles", "5",
         *args], capture_output=True, text=True, timeout=120, check=True).stdout
    rows = {line[:44].strip(): line[44:].split() for line in out.splitlines()
            if line.startswith("  ") and not line.startswith("  edit + commit")}
    cycle = [line for line in out.splitlines() if "edit + commit cycle p50" in line]
    assert len(cycle) == 1 and "of which hvd ran" in cycle[0]
    return rows, out


def test_timeline_follows_each_call_into_the_child_hvd() -> None:
    rows, _ = timeline()
    assert list(rows)[1:] == ["client builds and queues the request",
                              "ncclient's reader waits for its tick", "request in transit",
                              "hvd reads the frame, parses the XML", "hvd runs the operation",
                              "of which fdatasync", "reply in transit (frame, send, wake)",
                              "client parses the reply, wakes caller", "whole call"]
    # Server steps carry the child's CPU time; only the commit flushes the log.
    assert float(rows["hvd runs the operation"][1].strip("()")) > 0
    assert rows["of which fdatasync"][0] == "-" and float(rows["of which fdatasync"][1]) > 0


def test_timeline_with_the_raw_client_has_no_ncclient_steps() -> None:
    rows, out = timeline("--client", "raw", "--gap", "0.5")
    assert "raw client, gap 0.5 ms" in out
    assert rows["ncclient's reader waits for its tick"] == ["-", "-"]
    assert float(rows["hvd reads the frame, parses the XML"][1].strip("()")) > 0


def test_stats_benchmark_runs_with_a_child_hvd() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/stats.py"), "--sizes", "10", "--runs", "2",
         "--vms", "1", "--window", "1"], capture_output=True, text=True, timeout=180,
        check=True).stdout
    assert "    10           3 " in out  # three host commands for a sample of ten VMs
    assert "10 VMs: p50" in out and "(1 VMs shown)" in out
def test_backup_benchmark_runs_with_a_child_hvd() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools/bench/backup.py"), "--size", "64M", "--data", "4",
         "--change", "1", "--runs", "1"], capture_output=True, text=True, timeout=120,
        check=True).stdout
    rows = {re.split(r"\s{2,}", line.strip())[0]: line.split()[-3:]
            for line in out.splitlines() if line.endswith("%")}
    assert list(rows) == ["full backup, directory target",
                          "incremental backup (1 MiB rewritten), directory",
                          "full backup, dataset target", "full clone",
                          "snapshot of a VM with 8 disks (1 zfs command each)"]
    assert all(float(r[0]) > 0 and float(r[1]) > 0 for r in rows.values())
