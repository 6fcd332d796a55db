"""hv gives up on a wedged hvd: after the reply timeout it says so and exits non-zero."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hvd_netconf.namespaces import BASE, CAP_BASE_10
from hvd_netconf.wire.framing import encode_eom

HELLO = (f'<hello xmlns="{BASE}"><capabilities><capability>{CAP_BASE_10}</capability>'
         "</capabilities><session-id>7</session-id></hello>").encode()


def wedged(path: Path, hello: bool) -> Iterator[Path]:
    """A socket that accepts and then never answers (after its hello, when hello is set)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            if hello:
                conn.sendall(encode_eom(HELLO))

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield path
    finally:
        listener.close()
        for conn in held:
            conn.close()


@pytest.fixture(params=[False, True], ids=["silent", "hello-then-silent"])
def wedged_socket(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    yield from wedged(tmp_path / "hvd.sock", request.param)


def test_hv_says_hvd_does_not_answer(wedged_socket: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "hv_cli.main", "--socket", str(wedged_socket),
                        "--timeout", "0.5", "list", "vm"],
                       capture_output=True, text=True, timeout=30)
    assert (r.returncode, r.stdout) == (3, "")
    assert r.stderr == ("hv: hvd does not answer (no reply within 0.5 s); "
                        "--timeout SECONDS waits longer\n")


def test_timeout_must_be_seconds(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "hv_cli.main", "--timeout", "soon", "list", "vm"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "hv: --timeout needs a number of seconds, not 'soon'" in r.stderr
