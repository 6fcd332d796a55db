"""A small NETCONF client for hv: hello, one request at a time, replies as ElementTree.

It reuses the server core's framing (hvd_netconf.wire.framing) and parses replies with the
standard library's expat, so a one-shot `hv` loads neither lxml, ncclient nor paramiko.
A reply carrying a DOCTYPE is refused before parsing: without one there are no entity
declarations to expand, which is what makes expat safe here.
"""

from __future__ import annotations

import socket
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Protocol

from hv_cli.rpcs import El, el, rpc, to_xml

from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11
from hvd_netconf.wire.framing import (
    ChunkedDecoder,
    EomDecoder,
    Oversize,
    encode_chunked,
    encode_eom,
)

MAX_MESSAGE = 1 << 30
REPLY_TIMEOUT = 120.0  # seconds hv waits for a reply before it calls the server wedged
NC = f"{{{BASE}}}"
CLIENT_HELLO = (
    f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE}"><capabilities>'
    f"<capability>{CAP_BASE_10}</capability><capability>{CAP_BASE_11}</capability>"
    "</capabilities></hello>"
).encode()


class Stream(Protocol):
    def sendall(self, data: bytes) -> object: ...
    def recv(self, size: int) -> bytes: ...
    def settimeout(self, timeout: float | None) -> None: ...
    def close(self) -> None: ...


class ConnectError(Exception):
    """The server could not be reached, or stopped answering."""


class NoAnswer(ConnectError):
    """No reply within the timeout: the server is wedged, or the operation outlasts it."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"hvd does not answer (no reply within {timeout:g} s); "
                         "--timeout SECONDS waits longer")


class ServerError:
    """One rpc-error of a reply."""

    __slots__ = ("info", "message", "path", "tag")

    def __init__(self, tag: str, message: str, path: str | None = None,
                 info: dict[str, str] | None = None) -> None:
        self.tag = tag
        self.message = message
        self.path = path
        self.info = info if info is not None else {}


class NetconfError(Exception):
    """The server answered with rpc-error(s)."""

    def __init__(self, errors: list[ServerError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


def parse_reply(data: bytes) -> ET.Element:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ConnectError("the server sent a DOCTYPE; refusing to parse it")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConnectError(f"the server sent malformed XML: {exc}") from None


def errors_of(reply: ET.Element) -> list[ServerError]:
    out = []
    for err in reply.iter(NC + "rpc-error"):
        if err.findtext(NC + "error-severity") == "warning":
            continue
        info = {child.tag.rpartition("}")[2]: (child.text or "")
                for child in err.find(NC + "error-info") or ()}
        out.append(ServerError(
            tag=err.findtext(NC + "error-tag") or "operation-failed",
            message=(err.findtext(NC + "error-message") or "").strip(),
            path=(err.findtext(NC + "error-path") or "").strip() or None,
            info=info,
        ))
    return out


# What a long call shows on a terminal: a text, or the line for the seconds so far.
Progress = str | Callable[[float], str] | None


class Client:
    def __init__(self, stream: Stream, on_close: Callable[[], object] | None = None,
                 timeout: float = REPLY_TIMEOUT) -> None:
        self.stream = stream
        self.timeout = timeout
        self.wedged = False  # a reply never came: the stream's framing is lost
        self._on_close = on_close
        self._decoder: EomDecoder | ChunkedDecoder = EomDecoder(MAX_MESSAGE)
        self._chunked = False
        self.next_id = 1
        self.session_id = 0
        self.capabilities: list[str] = []
        self._hello()

    @classmethod
    def unix(cls, path: str, timeout: float = REPLY_TIMEOUT) -> Client:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(min(timeout, 30.0))
        try:
            sock.connect(path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise ConnectError(f"hvd is not running (nothing listens on {path})") from None
        except PermissionError:
            sock.close()
            raise ConnectError(f"permission denied on {path}") from None
        except OSError as exc:
            sock.close()
            raise ConnectError(f"cannot connect to {path}: {exc.strerror}") from None
        return cls(sock, timeout=timeout)

    def _send(self, body: bytes) -> None:
        self.stream.sendall(encode_chunked(body) if self._chunked else encode_eom(body))

    def _receive(self, progress: Progress = None, timeout: float | None = None) -> bytes:
        """The next message; NoAnswer when none is complete within the timeout. On a
        terminal, progress (a text, or a function of the seconds so far) is shown meanwhile."""
        started = time.monotonic()
        limit = timeout if timeout is not None else self.timeout
        ticking = progress is not None and sys.stderr.isatty()
        try:
            while True:
                frame = self._decoder.next()
                if isinstance(frame, Oversize):
                    raise ConnectError(f"a reply of {frame.size} bytes is too large")
                if frame is not None:
                    return frame
                left = started + limit - time.monotonic()
                if left <= 0:
                    self.wedged = True
                    raise NoAnswer(limit)
                self.stream.settimeout(min(left, 0.25) if ticking else left)
                try:
                    data = self.stream.recv(1 << 16)
                except TimeoutError:
                    if ticking:
                        elapsed = time.monotonic() - started
                        line = progress(elapsed) if callable(progress) else \
                            f"{progress} {elapsed:.0f}s"
                        sys.stderr.write(f"\r\x1b[K{line} ")
                        sys.stderr.flush()
                    continue
                if not data:
                    raise ConnectError("the server closed the connection")
                self._decoder.feed(data)
        finally:
            if ticking:
                sys.stderr.write("\r\x1b[K")

    def _hello(self) -> None:
        self.stream.sendall(encode_eom(CLIENT_HELLO))
        hello = parse_reply(self._receive())
        self.capabilities = [(c.text or "").strip() for c in hello.iter(NC + "capability")]
        self.session_id = int(hello.findtext(NC + "session-id") or 0)
        if CAP_BASE_11 in self.capabilities:
            leftover = self._decoder.leftover()
            self._decoder = ChunkedDecoder(MAX_MESSAGE)
            self._decoder.feed(leftover)
            self._chunked = True

    def has(self, capability: str) -> bool:
        return any(c == capability or c.startswith(capability + "?") for c in self.capabilities)

    def request_xml(self, op: El) -> str:
        return to_xml(rpc(op, self.next_id))

    def call(self, op: El, progress: Progress = None, timeout: float | None = None
             ) -> ET.Element:
        """Send one operation, wait for its reply (timeout: longer than the client's, for an
        operation known to take long); raise NetconfError on rpc-error."""
        self._send(self.request_xml(op).encode())
        self.next_id += 1
        reply = parse_reply(self._receive(progress, timeout))
        errors = errors_of(reply)
        if errors:
            raise NetconfError(errors)
        return reply

    def receive(self, timeout: float) -> ET.Element:
        """The next message the server sends unasked (a notification, RFC 5277)."""
        self.wedged = False
        return parse_reply(self._receive(timeout=timeout))

    def close(self) -> None:
        try:
            if not self.wedged:
                self.call(el("close-session"), timeout=min(self.timeout, 5.0))
        except (ConnectError, NetconfError, OSError):
            pass
        finally:
            self.stream.close()
            if self._on_close is not None:
                self._on_close()
