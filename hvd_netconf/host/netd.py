"""netd: detect it on its socket, and drive it there (docs/freebsd-facts.md §13).

netd exists in incompatible generations. A server that greets with a NETCONF <hello> is
generation 3; one that answers a size_t-framed `show interface` with a table is generation 1.
Only generation 3 takes configuration hvd can send (edit-config, commit), so hvd drives netd
when it finds generation 3 and configures with ifconfig otherwise. Every reply is read and
checked: an rpc-error fails the change with netd's own message (the C HVD logged success
without ever reading netd's replies).
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import DataExists, MalformedMessage, OperationFailed, RpcError, TooBig
from hvd_netconf.host import ifconfig, netd_edits
from hvd_netconf.host.backend import Host
from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11, CAP_PREFIX
from hvd_netconf.wire.framing import (
    ChunkedDecoder,
    EomDecoder,
    Oversize,
    encode_chunked,
    encode_eom,
)
from hvd_netconf.xmlparse import parse

EOM = b"]]>]]>"
MAX_REPLY = 1 << 20
CANDIDATE = CAP_PREFIX + "candidate:1.0"
WHY_IFCONFIG = ("hvd drives only a generation-3 netd with a candidate datastore, "
                "so it configures with ifconfig")
USES_NETD = "hvd configures bridges, members, VLANs, FIBs and addresses through it"
REPLY_TIMEOUT = 30.0  # seconds for one netd reply before the change is called failed
CLIENT_HELLO = (
    f'<?xml version="1.0" encoding="UTF-8"?><hello xmlns="{BASE}"><capabilities>'
    f"<capability>{CAP_BASE_10}</capability><capability>{CAP_BASE_11}</capability>"
    "</capabilities></hello>"
).encode()


@dataclass(frozen=True)
class NetdDetection:
    path: str
    generation: int | None
    reason: str
    capabilities: tuple[str, ...] = field(default=())

    @property
    def used(self) -> bool:
        """hvd hands network configuration to this netd: generation 3, with the candidate
        its edits go into (docs/freebsd-facts.md §13.1)."""
        return self.generation == 3 and any(c.split("?")[0] == CANDIDATE
                                            for c in self.capabilities)

    def summary(self) -> str:
        found = f"generation {self.generation}" if self.generation else "no usable netd"
        return f"{self.path}: {found} ({self.reason}); {USES_NETD if self.used else WHY_IFCONFIG}"


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


def _tag(name: str) -> str:
    return etree.QName(BASE, name).text


class Netd:
    """One NETCONF session with a generation-3 netd, opened at first use and again after a
    failure. `edit()` is one change: edit-config into the candidate, then commit; a refusal of
    either is discarded from the candidate and raised as OperationFailed with netd's message,
    so the plan step fails and is undone (docs/freebsd-facts.md §13.1)."""

    def __init__(self, path: Path, timeout: float = REPLY_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._decoder: EomDecoder | ChunkedDecoder = EomDecoder(MAX_REPLY)
        self._chunked = False
        self._next_id = 1

    def _open(self) -> socket.socket:
        s = _connect(self.path, self.timeout)
        self._sock, self._decoder, self._chunked = s, EomDecoder(MAX_REPLY), False
        s.sendall(encode_eom(CLIENT_HELLO))
        hello = self._receive()
        if hello.tag != _tag("hello"):
            raise ConnectionError(f"netd sent <{etree.QName(hello).localname}>, not a hello")
        caps = {(c.text or "").strip() for c in hello.iter(_tag("capability"))}
        if CAP_BASE_11 in caps:
            rest = self._decoder.leftover()
            self._decoder, self._chunked = ChunkedDecoder(MAX_REPLY), True
            self._decoder.feed(rest)
        return s

    def _receive(self) -> etree._Element:
        assert self._sock is not None
        deadline = time.monotonic() + self.timeout
        while (frame := self._decoder.next()) is None:
            self._sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self._sock.recv(65536)
            if not data:
                raise ConnectionError("netd closed the connection")
            self._decoder.feed(data)
        if isinstance(frame, Oversize):
            raise ConnectionError(f"netd sent a reply of {frame.size} bytes")
        return parse(frame)

    def _rpc(self, body: str) -> etree._Element:
        s = self._sock or self._open()
        msg = f'<rpc xmlns="{BASE}" message-id="{self._next_id}">{body}</rpc>'.encode()
        self._next_id += 1
        s.sendall(encode_chunked(msg) if self._chunked else encode_eom(msg))
        return self._receive()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @staticmethod
    def _refusal(reply: etree._Element) -> RpcError | None:
        """netd's refusal when the reply is an rpc-error (DataExists for data-exists, else
        OperationFailed, with netd's words), else None (an <ok/>)."""
        errs = [e for e in reply.iter(_tag("rpc-error"))
                if e.findtext(_tag("error-severity")) != "warning"]
        if not errs:
            if reply.find(_tag("ok")) is None:
                return OperationFailed("netd refused: it answered neither <ok/> nor <rpc-error>")
            return None
        words = "; ".join((e.findtext(_tag("error-message")) or "").strip()
                          or (e.findtext(_tag("error-tag")) or "rpc-error") for e in errs)
        tags = {(e.findtext(_tag("error-tag")) or "").strip() for e in errs}
        kind = DataExists if tags == {"data-exists"} else OperationFailed
        return kind(f"netd refused: {words}", error_type="application")

    def edit(self, config: str) -> None:
        """Apply one change (an <interfaces> tree from host/netd_edits.py) and check it."""
        with self._lock:
            try:
                refused = self._refusal(self._rpc(netd_edits.edit_config(config)))
                if refused is None:
                    refused = self._refusal(self._rpc("<commit/>"))
                if refused is not None:
                    self._rpc("<discard-changes/>")
            except (OSError, ConnectionError, MalformedMessage, TooBig) as e:
                self._close()
                raise OperationFailed(f"netd on {self.path}: {e}") from e
        if refused is not None:
            raise refused

    def close(self) -> None:
        with self._lock:
            self._close()


def join_bridge(host: Host, netd: Netd | None, bridge: str, member: str) -> None:
    """Add member (a VM's tap, an uplink back) to bridge outside a commit: through netd when
    hvd drives one, else `ifconfig addm`. Raises OperationFailed (netd) or CommandFailed."""
    if netd is not None:
        netd.edit(netd_edits.bridge_addm(bridge, member))
    else:
        host.run(ifconfig.bridge_addm(bridge, member))


def leave_bridge(host: Host, netd: Netd | None, bridge: str, member: str) -> None:
    """join_bridge's undo."""
    if netd is not None:
        netd.edit(netd_edits.bridge_deletem(bridge, member))
    else:
        host.run(ifconfig.bridge_deletem(bridge, member))


def destroy_interface(host: Host, netd: Netd | None, ifname: str) -> None:
    """Destroy an interface hvd made (a VM's tap) outside a commit, the way it was made."""
    if netd is not None:
        netd.edit(netd_edits.destroy(ifname))
    else:
        host.run(ifconfig.destroy(ifname))
