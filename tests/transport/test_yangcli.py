"""Interop with an independent client: yuma123's yangcli (Debian package yangcli) over SSH."""

from __future__ import annotations

import shutil
import subprocess

from support.server import HvdInstance

YANGCLI = shutil.which("yangcli") or "/usr/bin/yangcli"


def yangcli(hvd: HvdInstance, command: str) -> str:
    argv = [YANGCLI, "--server=127.0.0.1", f"--ncport={hvd.ssh_port}", f"--user={hvd.username}",
            f"--password={hvd.password}", "--batch-mode", f"--run-command={command}"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL, check=False)
    return p.stdout + p.stderr


def test_yangcli_session_and_lock(hvd: HvdInstance) -> None:
    out = yangcli(hvd, "lock target=running")
    assert "NETCONF session established" in out
    assert "base:1.1" in out and "RFC 6241 (base:1.1)" in out
    assert "RPC OK Reply" in out
    assert hvd.server.stats.in_rpcs == 1 and hvd.server.stats.out_rpc_errors == 0


def test_yangcli_sees_lock_denied(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.lock("running")
    out = yangcli(hvd, "lock target=running")
    assert "lock-denied" in out
    assert hvd.server.stats.out_rpc_errors == 1


def test_yangcli_kill_session(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.lock("candidate")
    out = yangcli(hvd, f"kill-session session-id={m.session_id}")
    assert "RPC OK Reply" in out
    assert hvd.server.locks.holder("candidate") is None
