"""Run NETCONF clients as an unprivileged Unix user, so that NACM tests never pass by running
as the recovery user (uid 0), and socket permission tests mean something."""

from __future__ import annotations

import atexit
import contextlib
import functools
import grp
import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lxml import etree

HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "python3"
UNPRIV_USER = "nobody"


def unpriv_group() -> str:
    """The primary group of `nobody` (nogroup on Debian, nobody on FreeBSD)."""
    return grp.getgrgid(pwd.getpwnam(UNPRIV_USER).pw_gid).gr_name


@contextlib.contextmanager
def shared_dir() -> Iterator[Path]:
    """A directory an unprivileged user can traverse (pytest's tmp_path is 0700 to root)."""
    path = Path(tempfile.mkdtemp(prefix="hvd-test-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@functools.cache
def _peer() -> Path:
    """peer.py and its frames.py copied where `nobody` can read them: the clone itself may sit
    under a directory only its owner can enter (a root's home is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="hvd-peer-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    path.chmod(0o755)
    for name in ("peer.py", "frames.py"):
        shutil.copyfile(HERE / name, path / name)
        (path / name).chmod(0o644)
    return path / "peer.py"


def run_peer(socket_path: Path, ops: list[str], *, preamble: str | None = None,
             user: str | None = UNPRIV_USER, timeout: float = 20) -> dict[str, Any]:
    """Run support/peer.py as `user` (dropping privileges when we are root) and return its
    result: {"session_id", "replies": [Element, ...]} or {"error": ...}."""
    argv = [PYTHON, str(_peer()), str(socket_path)]
    if preamble is not None:
        argv.append(preamble)
    kw: dict[str, Any] = {}
    if user is not None and os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    proc = subprocess.run(argv, input=json.dumps(ops).encode(), capture_output=True,
                          timeout=timeout, check=True, cwd="/", **kw)
    out = json.loads(proc.stdout)
    if "replies" in out:
        out["replies"] = [etree.fromstring(r.encode()) for r in out["replies"]]
    return out
