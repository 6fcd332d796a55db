"""The whole daemon in this process, as `hvd --backend sim` wires it, under a temporary root
and holding the given configuration: for benchmarks that drive a part of the server directly
(the snapshot scheduler) or time clients that start as processes (the one-shot hv)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hv_cli import rpcs
from hv_cli.client import Client

from hvd_netconf.config import Settings
from hvd_netconf.daemon import Running, start, wire_components


@contextlib.contextmanager
def sim_daemon(config: list[rpcs.El]) -> Iterator[tuple[Running, str]]:
    """Yield the running daemon and its socket once `config` is in running (one edit)."""
    with tempfile.TemporaryDirectory() as tmp:
        root, sock = Path(tmp) / "root", Path(tmp) / "hvd.sock"
        root.mkdir()
        running = start(Settings(root=root, socket=sock, backend="sim", listen=()),
                        wire_components)
        try:
            client = Client.unix(str(sock))
            try:
                client.call(rpcs.edit_config("running", config))
            finally:
                client.close()
            yield running, str(sock)
        finally:
            running.stop()
