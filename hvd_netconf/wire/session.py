"""The per-session NETCONF state machine, sans-IO: bytes in, events out (like h11).

The transport feeds received bytes to `receive()` and acts on the events: `Send` (write these
bytes), `RpcReceived` (dispatch, then write `frame(reply)`), `HelloDone` and `Close` (end the
session with an RFC 6470 termination reason). The server hello is ready at once (`hello_bytes`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from hvd_netconf.errors import MalformedMessage, RpcError, TooBig
from hvd_netconf.wire import messages
from hvd_netconf.wire.framing import (
    MAX_CHUNK_SIZE,
    ChunkedDecoder,
    EomDecoder,
    FramingError,
    Oversize,
    encode_chunked,
    encode_eom,
)
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits, attributes, parse

log = logging.getLogger(__name__)

_PREAMBLE_MAX = 256


@dataclass(frozen=True)
class WireLimits:
    max_message: int = 64 * 1024 * 1024
    max_chunk: int = MAX_CHUNK_SIZE
    max_hello: int = 1024 * 1024  # a hello is small; a larger one is a bad hello
    xml: XmlLimits = DEFAULT_LIMITS


@dataclass(frozen=True)
class Send:
    """Bytes the transport must write (already framed); `bad_rpc` marks an error reply."""

    data: bytes
    bad_rpc: bool = False


@dataclass(frozen=True)
class RpcReceived:
    rpc: messages.Rpc


@dataclass(frozen=True)
class HelloDone:
    hello: messages.ClientHello


@dataclass(frozen=True)
class Preamble:
    """A libnetconf2 >= 4.1 `username\\0` preamble read before the hello (Unix socket only)."""

    username: str


@dataclass(frozen=True)
class Close:
    reason: str  # closed | killed | dropped | timeout | bad-hello | other (RFC 6470)
    detail: str


Event = Send | RpcReceived | HelloDone | Preamble | Close


@dataclass
class WireSession:
    session_id: int
    capabilities: Sequence[str]
    limits: WireLimits = field(default_factory=WireLimits)
    allow_preamble: bool = False

    def __post_init__(self) -> None:
        self.base: str | None = None  # set once the hellos are exchanged
        self.closed = False
        self._preamble: bytearray | None = bytearray() if self.allow_preamble else None
        self._decoder: EomDecoder | ChunkedDecoder = EomDecoder(
            min(self.limits.max_hello, self.limits.max_message))
        bases = [c.rsplit(":", 1)[1] for c in self.capabilities
                 if c.startswith("urn:ietf:params:netconf:base:")]
        self._server_bases = tuple(bases)

    def hello_bytes(self) -> bytes:
        """The server hello, always EOM-framed (RFC 6242 §4.1)."""
        return encode_eom(messages.build_hello(self.capabilities, self.session_id))

    def frame(self, body: bytes) -> bytes:
        if self.base == "1.1":
            return encode_chunked(body)
        return encode_eom(body)

    def receive(self, data: bytes) -> list[Event]:
        if self.closed:
            return []
        events: list[Event] = []
        if self._preamble is not None:
            data = self._take_preamble(data, events)
            if self.closed or not data:
                return events
        self._decoder.feed(data)
        while not self.closed:
            try:
                frame = self._decoder.next()
            except FramingError as exc:
                log.warning("session %d: framing error: %s", self.session_id, exc)
                events.append(self._close("other", f"framing error: {exc}"))
                break
            if frame is None:
                if self.base is None and isinstance(self._decoder, EomDecoder) \
                        and self._decoder.skipping:
                    events.append(self._close("bad-hello", "the hello exceeds max-hello"))
                break
            if self.base is None:
                self._on_hello(frame, events)
            else:
                self._on_message(frame, events)
        return events

    def _close(self, reason: str, detail: str) -> Close:
        self.closed = True
        return Close(reason, detail)

    def _take_preamble(self, data: bytes, events: list[Event]) -> bytes:
        buf = self._preamble
        assert buf is not None
        if not buf:
            stripped = data.lstrip()
            if not stripped:
                return b""
            if stripped[:1] == b"<":
                self._preamble = None
                return data
        nul = data.find(b"\0")
        part = data if nul < 0 else data[:nul]
        buf += part
        if b"<" in buf or len(buf) > _PREAMBLE_MAX:
            events.append(self._close("bad-hello", "malformed username preamble"))
            return b""
        if nul < 0:
            return b""
        self._preamble = None
        try:
            name = buf.decode("utf-8")
        except UnicodeDecodeError:
            events.append(self._close("bad-hello", "username preamble is not UTF-8"))
            return b""
        events.append(Preamble(name))
        return data[nul + 1 :]

    def _on_hello(self, frame: bytes | Oversize, events: list[Event]) -> None:
        if isinstance(frame, Oversize):
            events.append(self._close("bad-hello", f"hello of {frame.size} bytes is too big"))
            return
        try:
            hello = messages.parse_hello(parse(frame, self.limits.xml), self._server_bases)
        except (RpcError, messages.BadHello) as exc:
            detail = exc.message if isinstance(exc, RpcError) else str(exc)
            events.append(self._close("bad-hello", detail))
            return
        self.base = hello.base
        rest = self._decoder.leftover()
        if hello.base == "1.1":
            self._decoder = ChunkedDecoder(self.limits.max_message, self.limits.max_chunk)
        else:
            self._decoder = EomDecoder(self.limits.max_message)
        self._decoder.feed(rest)
        events.append(HelloDone(hello))

    def _on_message(self, frame: bytes | Oversize, events: list[Event]) -> None:
        if isinstance(frame, Oversize):
            err = TooBig(f"message of {frame.size} bytes exceeds the limit of "
                         f"{self.limits.max_message}", error_type="rpc")
            events.append(Send(self.frame(messages.reply_errors(None, [err])), bad_rpc=True))
            return
        try:
            root = parse(frame, self.limits.xml)
        except MalformedMessage as exc:
            if self.base != "1.1":
                events.append(self._close("other", f"malformed message on base:1.0: {exc}"))
                return
            events.append(Send(self.frame(messages.reply_errors(None, [exc])), bad_rpc=True))
            return
        except RpcError as exc:
            events.append(Send(self.frame(messages.reply_errors(None, [exc])), bad_rpc=True))
            return
        try:
            rpc = messages.parse_rpc(root)
        except RpcError as exc:
            attrib = attributes(root) if root.tag == messages.RPC_TAG else None
            events.append(Send(self.frame(messages.reply_errors(attrib, [exc])), bad_rpc=True))
            return
        events.append(RpcReceived(rpc))
