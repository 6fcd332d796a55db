"""RFC 6242 framing read and written byte by byte, standard library only.

Shared by the raw test client and by peer.py, which runs under the system Python as an
unprivileged user (no lxml there). It does not use hvd's own framing code, so a bug there
cannot hide itself.
"""

from __future__ import annotations

import re
from typing import Any

_CHUNK = re.compile(rb"\n#(#|[1-9][0-9]*)\n")


class ServerClosed(EOFError):
    """The server closed the connection while a message was expected."""


class Frames:
    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as exc:
            raise ServerClosed(str(exc)) from None
        if not data:
            raise ServerClosed("connection closed by the server")
        self.buf += data

    def read_eom(self) -> bytes:
        while b"]]>]]>" not in self.buf:
            self._fill()
        msg, _, self.buf = self.buf.partition(b"]]>]]>")
        return msg

    def read_chunked(self) -> bytes:
        parts = []
        while True:
            while not (m := _CHUNK.match(self.buf)):
                if len(self.buf) > 20 and not self.buf.startswith(b"\n#"):
                    raise AssertionError(f"bad chunk header from server: {self.buf[:20]!r}")
                self._fill()
            if m.group(1) == b"#":
                self.buf = self.buf[m.end():]
                return b"".join(parts)
            size = int(m.group(1))
            while len(self.buf) < m.end() + size:
                self._fill()
            parts.append(self.buf[m.end(): m.end() + size])
            self.buf = self.buf[m.end() + size:]

    def send_chunked(self, body: bytes) -> None:
        self.send(b"\n#%d\n%b\n##\n" % (len(body), body))
