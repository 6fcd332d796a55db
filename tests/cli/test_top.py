"""`hv top` in a real pseudo-terminal (pexpect), over the Unix socket and over SSH: rows for three
running VMs, sorted, refreshed in place, re-sorted by a key, `q` quits and gives the terminal
back; without a terminal one table (or --json). `hv stats VM` with and without a terminal."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
from e2e.helpers import guest_ready, standin
from support.server import HvdInstance
from support.waiting import wait_for

from tests.cli.conftest import Result
from tests.cli.test_ssh import env, know_host, with_key

HV = [sys.executable, "-m", "hv_cli.main"]
ROW = r"\n(\w+) +running +([0-9.]+|-) "  # a table row: VM, status, CPU%


def three_vms(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    for name in ("idle1", "busy", "idle2"):
        assert hv(f"create vm {name} 1 256").status == 0
        standin(hvd.root, name, busy=0.6 if name == "busy" else 0.0)
        assert hv(f"start {name}").status == 0
        guest_ready(hvd.root, name)


def spawn(args: list[str], environ: dict[str, str] | None = None) -> pexpect.spawn:
    return pexpect.spawn(HV[0], [*HV[1:], *args], encoding="utf-8", timeout=30,
                         env=environ or dict(os.environ, TERM="xterm"), dimensions=(40, 120))


def frame(child: pexpect.spawn, sort: str) -> list[tuple[str, str]]:
    """The rows of the next frame drawn with this sort order."""
    child.expect(f"sorted by {sort}")
    child.expect(r"VM +STATUS +CPU% +MEM +DISK +NET")
    rows: list[tuple[str, str]] = []
    while len(rows) < 3:
        child.expect(ROW)
        rows.append((child.match.group(1), child.match.group(2)))
    return rows


def drive(child: pexpect.spawn) -> None:
    child.expect(r"host: 4 CPUs, load [0-9.]+ [0-9.]+ [0-9.]+, memory 16\.0 GiB, running VMs "
                 r"were given 768\.0 MiB")  # the sim host's figures; three VMs of 256 MiB
    first = frame(child, "cpu")
    assert {n for n, _ in first} == {"idle1", "busy", "idle2"}
    # a later frame has rates (the first has none: nothing to compare with), busiest first
    rows = wait_for(lambda: (r := frame(child, "cpu")) and r[0][1] != "-" and r[0][0] == "busy"
                    and r, timeout=30, what="a refreshed frame with busy on top")
    assert float(rows[0][1]) > float(rows[1][1])
    child.send("v")
    assert [n for n, _ in frame(child, "name")] == ["busy", "idle1", "idle2"]
    child.send("q")
    child.expect(re.escape("\x1b[?1049l"))  # the terminal's own screen back
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_top_over_the_socket(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    three_vms(hvd, hv)
    drive(spawn(["--socket", str(hvd.socket_path), "top", "interval", "1"]))


def test_top_over_ssh(hvd: HvdInstance, hv: Callable[..., Result], tmp_path: Path) -> None:
    three_vms(hvd, hv)
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    with_key(hvd, home)
    know_host(hvd, home)
    drive(spawn(["--host", hvd.ssh_host, "--port", str(hvd.ssh_port), "--user", "alice",
                 "top", "interval", "1"], dict(env(home), TERM="xterm")))


def test_top_without_a_terminal(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    three_vms(hvd, hv)
    rows = json.loads(hv("top interval 1 --json").out)
    assert rows[0]["vm"] == "busy"
    assert {r["vm"] for r in rows} == {"idle1", "busy", "idle2"}
    assert all(r["status"] == "running" and r["resident-memory"] > 0 for r in rows)
    text = hv("top interval 1").out.splitlines()
    assert text[0].split() == ["VM", "STATUS", "CPU%", "MEM", "DISK", "NET"]
    assert text[1].split()[0] == "busy"


def test_stats_of_a_vm(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    assert hv("create vm web 1 256").status == 0
    assert hv("stats web").out == "vm web is stopped: no statistics while it does not run\n"
    standin(hvd.root, "web", busy=0.5)
    assert hv("start web").status == 0
    guest_ready(hvd.root, "web")
    sampler = hvd.server.sampler
    assert sampler is not None
    first = sampler.sample().vms["web"].cpu_ms or 0
    wait_for(lambda: (sampler.sample().vms["web"].cpu_ms or 0) > first + 20,
             what="the guest's CPU time to grow between samples")
    out = hv("stats web").out
    assert out.startswith("vm web (counters since ") and "resident memory" in out
    assert "history" not in out  # graphs only on a terminal
    got = json.loads(hv("stats web --json").out)
    assert got["name"] == "web" and int(got["statistics"]["cpu-time"]) > 0
    assert got["history"]["period"] == 5 and len(got["history"]["sample"]) >= 2
    child = spawn(["--socket", str(hvd.socket_path), "stats", "web"])
    child.expect(r"history: \d+ samples, every 5 s")
    child.expect(r"cpu % +[▁▂▃▄▅▆▇█]+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
