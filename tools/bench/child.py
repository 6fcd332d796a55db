"""hvd in a child process, so that a benchmark's client and the server do not share one
interpreter (and its GIL), as with any real client and as netopeer2 was measured.

    with ChildHvd(tmp, "full") as hvd:   # or "store" / "store-nofsync"
        manager.connect_uds(path=hvd.socket)

"full" is the daemon's whole wiring (NACM, sim host apply, supervisor); "store" wires only
the datastores and transactions, with fsync on, and "store-nofsync" the same with fsync off
(the difference is what the disk's flushes cost).

Run as a script it is the child: `child.py DIR MODE` starts hvd under DIR, prints the socket
path and serves until its standard input closes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any

_REPO = Path(__file__).resolve().parents[2]
MODES = ("full", "store", "store-nofsync")


def _attach_store(fsync: bool) -> Any:
    def attach(server: Any) -> None:
        from hvd_netconf import notify, ops
        from hvd_netconf.ops import transactions
        from hvd_netconf.schema import load_schema
        from hvd_netconf.store import Datastores

        ops.load_all()
        server.schema = load_schema()
        server.datastores = Datastores(str(server.settings.root), server.schema, fsync=fsync,
                                       lock=server.lock)
        notify.attach(server)
        transactions.attach(server)
    return attach


def serve(directory: Path, mode: str) -> None:
    sys.path[:0] = [str(_REPO), str(_REPO / "tests")]
    from support.server import start_hvd

    attach = None if mode == "full" else _attach_store(mode == "store")
    inst = start_hvd(directory, attach, ssh=False)
    try:
        print(inst.socket_path, flush=True)
        sys.stdin.read()
    finally:
        inst.stop()


class ChildHvd:
    """Start the child; `socket` is where it listens; leaving the block stops it."""

    def __init__(self, directory: Path, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.proc = subprocess.Popen([sys.executable, __file__, str(directory), mode],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.socket = self.proc.stdout.readline().strip()
        if not self.socket:
            self.proc.wait()
            raise RuntimeError(f"the child hvd did not start (exit {self.proc.returncode})")

    def __enter__(self) -> ChildHvd:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]), sys.argv[2])
