"""A one-shot `hv` command loads only what it needs: never the SSH client (paramiko), the
shell (prompt_toolkit), ncclient, lxml or dataclasses (issue 25: start-up within 2x of a bare
interpreter; the figure is tools/bench/cli.py's, this is what keeps it so)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.server import HvdInstance

NEVER = ("paramiko", "prompt_toolkit", "ncclient", "lxml", "dataclasses", "inspect",
         "hv_cli.shell", "hv_cli.ssh", "hv_cli.console", "hv_cli.helptext", "hv_cli.top",
         "hvd_netconf.errors")
# Runs hv's main in a fresh interpreter, then names every module it loaded on stderr.
PROBE = ("import sys; from hv_cli.main import main; status = main(sys.argv[1:]); "
         "sys.stdout.flush(); sys.stderr.write('\\n'.join(sorted(sys.modules))); "
         "sys.exit(status)")


def loaded(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stderr.split())


@pytest.mark.parametrize("command", [
    ["list", "vm"], ["show", "vm", "web"], ["list", "vm", "--json"], ["set", "vm", "web",
                                                                       "cpu", "2"],
])
def test_one_shot_commands_load_no_heavy_module(hvd: HvdInstance, command: list[str]) -> None:
    socket = ["--socket", str(hvd.socket_path)]
    loaded(*socket, "create", "vm", "web", "1", "256")
    modules = loaded(*socket, *command)
    assert "hv_cli.client" in modules  # it did talk to hvd
    heavy = sorted(m for m in modules if m.split(".")[0] in NEVER or m in NEVER)
    assert heavy == []


def test_python_dash_m_runs_hv(hvd: HvdInstance) -> None:
    done = subprocess.run([sys.executable, "-m", "hv_cli", "--socket", str(hvd.socket_path),
                           "list", "vm"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout.split()[:2]) == (0, ["NAME", "STATE"])
