"""hvd in a child process, so that a benchmark's client and the server do not share one
interpreter (and its GIL), as with any real client and as netopeer2 was measured.

    with ChildHvd(tmp, "full") as hvd:   # or "store" / "store-nofsync"
        manager.connect_uds(path=hvd.socket)

"full" is the daemon's whole wiring (NACM, sim host apply, supervisor); "store" wires only
the datastores and transactions, with fsync on, and "store-nofsync" the same with fsync off
(the difference is what the disk's flushes cost).

`ssh=True` also listens for SSH on 127.0.0.1 (a free port); `address` then has what
tests/support/server.HvdAddress needs to connect either way.

Run as a script it is the child: `child.py DIR MODE [ssh]` starts hvd under DIR, prints its
address as one JSON line and serves until its standard input closes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests")]

from support.server import HvdAddress  # noqa: E402

MODES = ("full", "store", "store-nofsync")


def _attach_store(fsync: bool) -> Any:
    def attach(server: Any) -> None:
        from hvd_netconf.daemon import wire_store

        wire_store(server, fsync=fsync)
    return attach


def serve(directory: Path, mode: str, ssh: bool) -> None:
    from support.server import start_hvd

    attach = None if mode == "full" else _attach_store(mode == "store")
    inst = start_hvd(directory, attach, ssh=ssh)
    try:
        print(json.dumps({"socket_path": str(inst.socket_path), "ssh_host": inst.ssh_host,
                          "ssh_port": inst.ssh_port, "key_path": str(inst.key_path)}),
              flush=True)
        sys.stdin.read()
    finally:
        inst.stop()


class ChildHvd:
    """Start the child; `socket` is where it listens, `address` how to connect; leaving the
    block stops it."""

    def __init__(self, directory: Path, mode: str, *, ssh: bool = False) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        argv = [sys.executable, __file__, str(directory), mode, *(["ssh"] if ssh else [])]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line:
            self.proc.wait()
            raise RuntimeError(f"the child hvd did not start (exit {self.proc.returncode})")
        where = json.loads(line)
        self.address = HvdAddress(Path(where["socket_path"]), where["ssh_host"],
                                  where["ssh_port"], key_path=Path(where["key_path"]))
        self.socket = where["socket_path"]

    def __enter__(self) -> ChildHvd:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.address.close_managers()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2], sys.argv[3:] == ["ssh"])
