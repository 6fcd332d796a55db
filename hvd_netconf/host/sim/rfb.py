"""The stand-in guest's framebuffer, served over VNC as bhyve's fbuf device serves a real one:
the RFB protocol, version 3.8 (RFC 6143), security type None, raw encoding only, so that a VNC
client (the web interface's noVNC) has a screen to show on the sim. The picture is the sim's
own: a flat colour with a lighter band, which says nothing of any real guest; each key a
client sends is written to the guest's log, as a guest would read it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable

BACKGROUND = (0x2C, 0x5E, 0x8F)  # what a test sees on the screen, away from the band
BAND = (0xE0, 0xE8, 0xF0)
NAME = b"hvd-standin framebuffer (simulated, not a real guest)"


def parse_fbuf(argv: list[str]) -> tuple[str, int, int, int] | None:
    """(address, port, width, height) of the fbuf device in a bhyve argv (None: none)."""
    for word in argv:
        parts = word.split(",")
        if len(parts) > 2 and parts[1] == "fbuf":
            opts = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
            host, _, port = opts.get("tcp", opts.get("rfb", "")).rpartition(":")
            return (host.strip("[]") or "127.0.0.1", int(port), int(opts.get("w", 1024)),
                    int(opts.get("h", 768)))
    return None


class _Format:
    """The pixel format the client asked for (SetPixelFormat), 32 bits per pixel."""

    def __init__(self) -> None:
        self.big, self.shifts = False, (16, 8, 0)

    def pixel(self, rgb: tuple[int, int, int]) -> bytes:
        value = sum(c << s for c, s in zip(rgb, self.shifts, strict=True))
        return value.to_bytes(4, "big" if self.big else "little")


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the VNC client left")
        data += chunk
    return data


def _frame(fmt: _Format, width: int, height: int, x: int, y: int, w: int, h: int) -> bytes:
    bg, band = fmt.pixel(BACKGROUND), fmt.pixel(BAND)
    top, bottom = height // 3, height // 3 + max(height // 12, 1)
    return b"".join((band if top <= row < bottom else bg) * w for row in range(y, y + h))


def _session(conn: socket.socket, width: int, height: int, say: Callable[[str], None]) -> None:
    conn.sendall(b"RFB 003.008\n")
    _read(conn, 12)
    conn.sendall(b"\x01\x01")  # one security type: None
    _read(conn, 1)
    conn.sendall(struct.pack(">I", 0))  # SecurityResult: OK
    _read(conn, 1)  # ClientInit (shared)
    conn.sendall(struct.pack(">HHBBBBHHHBBB3xI", width, height, 32, 24, 0, 1, 255, 255, 255,
                             16, 8, 0, len(NAME)) + NAME)
    fmt = _Format()
    while True:
        kind = _read(conn, 1)[0]
        if kind == 0:  # SetPixelFormat
            pf = _read(conn, 19)[3:]
            fmt.big = bool(pf[2])
            fmt.shifts = (pf[10], pf[11], pf[12])
        elif kind == 2:  # SetEncodings: raw is the one every client takes
            (count,) = struct.unpack(">xH", _read(conn, 3))
            _read(conn, 4 * count)
        elif kind == 3:  # FramebufferUpdateRequest
            incremental, x, y, w, h = struct.unpack(">BHHHH", _read(conn, 9))
            if incremental:  # nothing changes on this screen: an empty update, not too often
                time.sleep(0.5)
                conn.sendall(struct.pack(">BxH", 0, 0))
                continue
            w, h = min(w, width - x), min(h, height - y)
            conn.sendall(struct.pack(">BxHHHHHi", 0, 1, x, y, w, h, 0)
                         + _frame(fmt, width, height, x, y, w, h))
        elif kind == 4:  # KeyEvent
            down, key = struct.unpack(">B2xI", _read(conn, 7))
            if down:
                say(f"vnc key {key:#x}")
        elif kind == 5:  # PointerEvent
            _read(conn, 5)
        elif kind == 6:  # ClientCutText
            (length,) = struct.unpack(">3xI", _read(conn, 7))
            _read(conn, length)
        else:
            raise ConnectionError(f"unknown RFB message {kind}")


def serve(address: str, port: int, width: int, height: int,
          say: Callable[[str], None]) -> socket.socket:
    """Listen (raises OSError when the port is taken, as bhyve fails then) and serve each
    client in a thread of its own; returns the listening socket."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.bind((address, port))
    lsock.listen(4)

    def accept() -> None:
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=_client, args=(conn,), daemon=True).start()

    def _client(conn: socket.socket) -> None:
        with conn, contextlib.suppress(ConnectionError, OSError):  # the client left
            _session(conn, width, height, say)

    threading.Thread(target=accept, daemon=True).start()
    return lsock
