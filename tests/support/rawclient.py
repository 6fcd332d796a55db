"""A deliberately independent NETCONF client speaking raw bytes, for framing and error tests.

It does not use hvd's own framing code, so a bug there cannot hide itself.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from lxml import etree

from support.frames import Frames, ServerClosed

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
NS = {"nc": BASE}
CAP_10 = "urn:ietf:params:netconf:base:1.0"
CAP_11 = "urn:ietf:params:netconf:base:1.1"


def hello_xml(*caps: str, session_id: int | None = None) -> bytes:
    body = "".join(f"<capability>{c}</capability>" for c in caps)
    sid = f"<session-id>{session_id}</session-id>" if session_id is not None else ""
    return (f'<hello xmlns="{BASE}"><capabilities>{body}</capabilities>{sid}</hello>').encode()


def rpc_xml(op: str, message_id: str | None = "1", attrs: str = "") -> bytes:
    mid = f' message-id="{message_id}"' if message_id is not None else ""
    return f'<rpc xmlns="{BASE}"{mid}{attrs}>{op}</rpc>'.encode()


class RawClient(Frames):
    """Frames are `eom` until `hello()` picks chunked (both sides 1.1)."""

    def __init__(self, sock: Any, timeout: float = 5.0) -> None:
        super().__init__(sock)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.chunked = False
        self.server_hello: etree._Element | None = None

    @classmethod
    def unix(cls, path: str, timeout: float = 5.0) -> RawClient:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        return cls(s, timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- bytes --------------------------------------------------------------------------
    def read_message(self) -> bytes:
        return self.read_chunked() if self.chunked else self.read_eom()

    def read_xml(self) -> etree._Element:
        return etree.fromstring(self.read_message())

    def send_message(self, body: bytes) -> None:
        if self.chunked:
            self.send_chunked(body)
        else:
            self.send(body + b"]]>]]>")

    # -- NETCONF ------------------------------------------------------------------------
    def read_hello(self) -> etree._Element:
        self.server_hello = etree.fromstring(self.read_eom())
        return self.server_hello

    @property
    def session_id(self) -> int:
        assert self.server_hello is not None
        return int(self.server_hello.findtext("nc:session-id", namespaces=NS))

    def hello(self, version: str = "1.1") -> etree._Element:
        """Read the server hello and answer with base 1.0, 1.1 or both (`"both"`)."""
        caps = {"1.0": (CAP_10,), "1.1": (CAP_11,), "both": (CAP_10, CAP_11)}[version]
        server = self.read_hello()
        self.send(hello_xml(*caps) + b"]]>]]>")
        self.chunked = version in ("1.1", "both")
        return server

    def rpc(self, op: str, message_id: str | None = "1", attrs: str = "") -> etree._Element:
        self.send_message(rpc_xml(op, message_id, attrs))
        return self.read_xml()

    def expect_closed(self, timeout: float | None = None) -> None:
        """Assert the server ends the connection (EOF) within the timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                self._fill()
            except ServerClosed:
                return
        raise AssertionError("the server did not close the connection")


def errors(reply: etree._Element) -> list[dict[str, Any]]:
    """The rpc-errors of a reply as dicts: type, tag, severity, app_tag, path, message, info."""
    out = []
    for e in reply.findall("nc:rpc-error", NS):
        info = e.find("nc:error-info", NS)
        out.append({
            "type": e.findtext("nc:error-type", namespaces=NS),
            "tag": e.findtext("nc:error-tag", namespaces=NS),
            "severity": e.findtext("nc:error-severity", namespaces=NS),
            "app_tag": e.findtext("nc:error-app-tag", namespaces=NS),
            "path": e.findtext("nc:error-path", namespaces=NS),
            "message": e.findtext("nc:error-message", namespaces=NS),
            "info": {etree.QName(c).localname: c.text for c in info} if info is not None else {},
        })
    return out


def is_ok(reply: etree._Element) -> bool:
    return reply.find("nc:ok", NS) is not None and not errors(reply)
