"""The sim's stand-in guest on its own: exit codes, the power button, forced exits, loaders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from support.waiting import wait_for


def spawn_standin(state: Path, *argv: str) -> subprocess.Popen[bytes]:
    state.mkdir(parents=True, exist_ok=True)
    (state / "standin.json").write_text(json.dumps({"poll_interval": 0.01,
                                                    "poweroff_delay": 0.1}))
    err = open(state / "bhyve.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "hvd_netconf.host.sim.standin", *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env={**os.environ, "HVD_STANDIN_STATE_DIR": str(state)})
    finally:
        err.close()


def wait_running(state: Path) -> None:
    wait_for(lambda: "guest running" in (state / "bhyve.log").read_text(), what="the guest")


def test_standin_exits_with_the_asked_code(tmp_path: Path) -> None:
    for code in (0, 2, 3, 4, 71):
        state = tmp_path / str(code)
        proc = spawn_standin(state, "bhyve", "-c", "1", f"vm{code}")
        try:
            wait_running(state)
            (state / "standin-exit").write_text(f"{code}\n")
            assert proc.wait(10) == code
            assert not (state / "standin-exit").exists()  # consumed
        finally:
            proc.kill()
            proc.wait()


def test_standin_power_button_and_forced_exits(tmp_path: Path) -> None:
    for sig, code in ((signal.SIGTERM, 1), (signal.SIGUSR1, 1), (signal.SIGUSR2, 0)):
        state = tmp_path / sig.name
        proc = spawn_standin(state, "/usr/sbin/bhyve", "web")
        try:
            wait_running(state)
            proc.send_signal(sig)
            assert proc.wait(10) == code
        finally:
            proc.kill()
            proc.wait()
        lines = (state / "bhyve.log").read_text().splitlines()
        # Identifiable as the stand-in on every line; it never says it is bhyve.
        assert lines and all(
            line.startswith("hvd-standin (simulated bhyve, not a real VM) web: ")
            for line in lines)


def test_standin_as_loader(tmp_path: Path) -> None:
    state = tmp_path / "s"
    proc = spawn_standin(state, "bhyveload", "-m", "512M", "-d", "/x", "bsd")
    assert proc.wait(10) == 0
    assert "simulated bhyveload, not a real VM) bsd: loader done" in (
        state / "bhyve.log").read_text()
    proc = spawn_standin(state, "bhyve")
    assert proc.wait(10) == 64
