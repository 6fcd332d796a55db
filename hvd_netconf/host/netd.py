"""Detect a netd daemon on its socket and say exactly what was found (docs/freebsd-facts.md §13).

netd exists in incompatible generations. A server that greets with a NETCONF <hello> is
generation 3; one that answers a size_t-framed `show interface` with a table is generation 1.
No generation supports bridge membership and interface FIB together, so hvd keeps configuring
networks with ifconfig whatever is found; detection only reports, and every reply it relies on
is read and checked (the C HVD logged success without ever reading netd's replies).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import MalformedMessage, TooBig
from hvd_netconf.namespaces import BASE
from hvd_netconf.xmlparse import parse

EOM = b"]]>]]>"
MAX_REPLY = 1 << 20
WHY_IFCONFIG = (
    "no netd generation supports both bridge membership and an interface FIB, "
    "so hvd configures networks with ifconfig"
)


@dataclass(frozen=True)
class NetdDetection:
    path: str
    generation: int | None
    reason: str
    capabilities: tuple[str, ...] = field(default=())
    used: bool = False  # hvd never hands network configuration to netd; see WHY_IFCONFIG

    def summary(self) -> str:
        found = f"generation {self.generation}" if self.generation else "no usable netd"
        return f"{self.path}: {found} ({self.reason}); {WHY_IFCONFIG}"


def _connect(path: Path, timeout: float) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(str(path))
    except OSError:
        s.close()
        raise
    return s


def _read_hello(s: socket.socket) -> bytes | None:
    """What the server sends unasked, up to the end-of-message marker; None if it stays silent."""
    buf = b""
    while EOM not in buf and len(buf) < MAX_REPLY:
        try:
            chunk = s.recv(65536)
        except TimeoutError:
            return buf or None
        if not chunk:
            break
        buf += chunk
    return buf.split(EOM, 1)[0]


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def _probe_gen1(path: Path, timeout: float) -> tuple[bool, str]:
    """Generation 1: one native size_t-framed request per connection, framed reply."""
    request = b"show interface"
    with _connect(path, timeout) as s:
        s.sendall(struct.pack("=Q", len(request)) + request)
        (size,) = struct.unpack("=Q", _recv_exact(s, 8))
        if size > MAX_REPLY:
            return False, f"reply length {size} is implausible"
        reply = _recv_exact(s, size).decode(errors="replace")
    if not reply.strip():
        return False, "empty reply to `show interface`"
    if reply.lstrip().startswith("Error"):
        return False, f"`show interface` answered {reply.strip()[:80]!r}"
    return True, "answered a size_t-framed `show interface` with an interface table"


def detect(path: Path, timeout: float = 1.0) -> NetdDetection:
    where = str(path)
    try:
        s = _connect(path, timeout)
    except OSError as e:
        return NetdDetection(where, None, f"cannot connect: {e.strerror or e}")
    with s:
        greeting = _read_hello(s)
    if greeting is not None:
        try:
            root = parse(greeting.strip())
        except (MalformedMessage, TooBig) as e:  # not a NETCONF server we know
            return NetdDetection(where, None, f"sent something that is not a hello: {e}")
        if root.tag != etree.QName(BASE, "hello").text:
            return NetdDetection(where, None, f"sent <{etree.QName(root).localname}>, not a hello")
        caps = tuple(
            (c.text or "").strip() for c in root.iter(etree.QName(BASE, "capability").text)
        )
        if not any(c.startswith("urn:ietf:params:netconf:base:") for c in caps):
            return NetdDetection(where, None, "hello without a NETCONF base capability", caps)
        return NetdDetection(where, 3, "sent a NETCONF <hello>", caps)
    try:
        ok, reason = _probe_gen1(path, timeout)
    except (OSError, ConnectionError, struct.error) as e:
        return NetdDetection(where, None, f"silent, and no size_t-framed reply: {e}")
    return NetdDetection(where, 1 if ok else None, reason)
