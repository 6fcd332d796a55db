"""Framing decoders and the message parser under arbitrary bytes: frames or FramingError /
RpcError, never another exception, never more buffered than the limits allow."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hvd_netconf.errors import RpcError
from hvd_netconf.wire import messages
from hvd_netconf.wire.framing import ChunkedDecoder, EomDecoder, FramingError, Oversize
from hvd_netconf.wire.session import WireLimits, WireSession
from hvd_netconf.xmlparse import XmlLimits, check_shape, parse

MAX = 2048
ATOMS = [b"\n", b"#", b"##", b"\n#", b"\n##\n", b"]]>]]>", b"]]>", b"0", b"1", b"9",
         b"4294967296", b"<rpc>", b"x" * 50]
stream = st.lists(st.one_of(st.sampled_from(ATOMS), st.binary(max_size=64)), max_size=40)


def feed_all(decoder: ChunkedDecoder | EomDecoder, parts: list[bytes]) -> list[object]:
    frames: list[object] = []
    try:
        for part in parts:
            decoder.feed(part)
            while (frame := decoder.next()) is not None:
                frames.append(frame)
                assert isinstance(frame, Oversize) or len(frame) <= MAX
    except FramingError:
        pass
    return frames


@given(stream)
def test_chunked_decoder(parts: list[bytes]) -> None:
    dec = ChunkedDecoder(MAX, max_chunk=512)
    feed_all(dec, parts)
    assert len(dec._parts) <= MAX  # never more than a message of data kept
    assert sum(map(len, dec._parts)) <= MAX


@given(stream)
def test_eom_decoder(parts: list[bytes]) -> None:
    dec = EomDecoder(MAX)
    feed_all(dec, parts)
    assert len(dec.leftover()) <= MAX + 16 + max((len(p) for p in parts), default=0)


@given(st.lists(st.integers(1, 5000), max_size=6), st.binary(max_size=300), st.data())
def test_chunked_round_trip_any_split(sizes: list[int], body: bytes, data: st.DataObject) -> None:
    msg = b"".join(b"\n#%d\n" % n + b"a" * n for n in sizes) + b"\n##\n" if sizes else b""
    wire = msg + (b"\n#%d\n%b\n##\n" % (len(body), body) if body else b"")
    cut = data.draw(st.lists(st.integers(0, len(wire)), max_size=8))
    parts = [wire[a:b] for a, b in zip([0, *sorted(cut)], [*sorted(cut), len(wire)],
                                       strict=True)]
    frames = feed_all(ChunkedDecoder(MAX, max_chunk=4096), parts)
    expected = []
    if sizes:
        expected.append(Oversize(sum(sizes)) if sum(sizes) > MAX or max(sizes) > 4096
                        else b"a" * sum(sizes))
    if body:
        expected.append(body)
    assert frames == expected


XML_ATOMS = ["<rpc ", 'xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"', ' message-id="1"',
             ">", "</rpc>", "<get/>", "<get>", "</get>", "<!DOCTYPE x>", "&x;", "<a>", "</a>",
             "<![CDATA[", "]]>", "<?xml version='1.0'?>", '<!ENTITY x "y">', "\x00", "é"]


@given(st.lists(st.one_of(st.sampled_from(XML_ATOMS), st.text(max_size=8)), max_size=30))
def test_message_parser(parts: list[str]) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")
    try:
        root = parse(data, XmlLimits(max_bytes=MAX * 4, max_depth=16, max_elements=200))
        messages.parse_rpc(root)
    except RpcError:
        pass


@given(st.lists(st.one_of(st.sampled_from(ATOMS + [x.encode() for x in XML_ATOMS]),
                          st.binary(max_size=32)), max_size=30))
def test_wire_session_events(parts: list[bytes]) -> None:
    caps = ["urn:ietf:params:netconf:base:1.0", "urn:ietf:params:netconf:base:1.1"]
    ws = WireSession(1, caps, WireLimits(max_message=MAX, max_chunk=512, max_hello=1024),
                     allow_preamble=True)
    hello = (b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
             b"<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>"
             b"</hello>]]>]]>")
    for part in [hello, *parts]:
        ws.receive(part)


tree = st.recursive(st.just("<a/>"),
                    lambda kids: st.lists(kids, max_size=3).map(
                        lambda k: "<a>" + "".join(k) + "</a>"), max_leaves=40)


@given(tree, st.integers(1, 12), st.integers(1, 60))
def test_shape_by_size_is_the_full_check(doc: str, depth: int, elements: int) -> None:
    """parse's size shortcut for short documents refuses exactly what the tree walk refuses."""
    limits = XmlLimits(max_depth=depth, max_elements=elements)
    data = f"<r>{doc}</r>".encode()

    def outcome(size: int | None) -> type | None:
        from lxml import etree

        root = etree.fromstring(data)
        try:
            check_shape(root, limits, size)
        except RpcError as exc:
            return type(exc)
        return None

    assert outcome(len(data)) == outcome(None)
