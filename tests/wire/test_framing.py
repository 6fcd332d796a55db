from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hvd_netconf.wire.framing import (
    ChunkedDecoder,
    EomDecoder,
    FramingError,
    Oversize,
    encode_chunked,
    encode_eom,
)


def drain(dec: EomDecoder | ChunkedDecoder) -> list[bytes | Oversize]:
    out = []
    while (m := dec.next()) is not None:
        out.append(m)
    return out


def feed_split(dec: EomDecoder | ChunkedDecoder, data: bytes, cuts: list[int]) -> list:
    out: list = []
    pos = 0
    for cut in [*sorted(set(c % (len(data) + 1) for c in cuts)), len(data)]:
        dec.feed(data[pos:cut])
        out.extend(drain(dec))
        pos = cut
    return out


MESSAGES = st.lists(st.binary(min_size=1, max_size=300).filter(lambda b: b"]]>]]>" not in b),
                    min_size=1, max_size=5)


@given(MESSAGES, st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_eom_any_split(msgs: list[bytes], cuts: list[int]) -> None:
    data = b"".join(encode_eom(m) for m in msgs)
    assert feed_split(EomDecoder(10_000), data, cuts) == msgs


@given(st.lists(st.binary(min_size=1, max_size=300), min_size=1, max_size=5),
       st.lists(st.integers(min_value=0, max_value=2000), max_size=20),
       st.integers(min_value=1, max_value=50))
def test_chunked_any_split(msgs: list[bytes], cuts: list[int], chunk: int) -> None:
    data = b"".join(encode_chunked(m, chunk) for m in msgs)
    assert feed_split(ChunkedDecoder(10_000), data, cuts) == msgs


def test_chunked_multichunk_and_utf8_split() -> None:
    body = "<a>é€😀</a>".encode()
    data = b"\n#3\n" + body[:3] + b"\n#1\n" + body[3:4] + b"\n#%d\n" % len(body[4:]) + body[4:]
    dec = ChunkedDecoder(1000)
    dec.feed(data + b"\n##\n")
    assert drain(dec) == [body]


@pytest.mark.parametrize("bad", [
    b"\n#012\nabcdefghijkl\n##\n",  # leading zero
    b"\n#0\n\n##\n",  # size 0
    b"\n#1a\nx\n##\n",  # non-digit
    b"\n#x\n",  # non-digit first
    b"\n#4294967296\n",  # above 2^32-1
    b"\n#99999999999\n",  # too many digits
    b"#3\nabc\n##\n",  # missing leading LF
    b"\n#3abc\n##\n",  # missing LF after size
    b"\n\n#3\nabc",  # LF without #
    b"\n##\n",  # end of chunks without a chunk
    b"\n#3\nabc\n#\n",  # truncated end marker
    b"\n#3\nabcX",  # garbage after the chunk data
])
def test_bad_chunk_headers_are_fatal(bad: bytes) -> None:
    dec = ChunkedDecoder(10_000)
    with pytest.raises(FramingError):
        for b in bad:  # byte by byte: the check must not depend on read boundaries
            dec.feed(bytes([b]))
            drain(dec)


def test_max_chunk_size_accepted_in_header() -> None:
    dec = ChunkedDecoder(100)
    dec.feed(b"\n#4294967295\nabc")
    assert drain(dec) == []  # valid header, message skipped as oversize, nothing buffered
    assert len(dec._buf) - dec._pos <= 100


def test_chunked_oversize_skipped_then_next_message_ok() -> None:
    dec = ChunkedDecoder(1024, max_chunk=512)
    dec.feed(encode_chunked(b"x" * 600) + encode_chunked(b"<ok/>"))
    assert drain(dec) == [Oversize(600), b"<ok/>"]
    dec.feed(b"\n#1000\n" + b"y" * 1000 + b"\n#1000\n" + b"y" * 1000 + b"\n##\n")
    assert drain(dec) == [Oversize(2000)]


def test_eom_oversize_never_buffers_more_than_limit() -> None:
    dec = EomDecoder(2048)
    for _ in range(100):
        dec.feed(b"z" * 1000)
        assert drain(dec) == []
        assert len(dec._buf) < 2048
    dec.feed(b"]]>]]><rpc/>]]>]]>")
    assert drain(dec) == [Oversize(100_000), b"<rpc/>"]


def test_eom_marker_split_across_reads() -> None:
    dec = EomDecoder(100)
    for piece in (b"<a/>]]", b">]]", b">", b"<b/>]]>]]>"):
        dec.feed(piece)
    assert drain(dec) == [b"<a/>", b"<b/>"]


def test_leftover_switch_from_eom_to_chunked() -> None:
    eom = EomDecoder(100)
    eom.feed(b"<hello/>]]>]]>\n#2\nhi\n##\n")
    assert eom.next() == b"<hello/>"
    ch = ChunkedDecoder(100)
    ch.feed(eom.leftover())
    assert drain(ch) == [b"hi"]


def test_encoders() -> None:
    assert encode_eom(b"<x/>") == b"<x/>]]>]]>"
    assert encode_chunked(b"<x/>") == b"\n#4\n<x/>\n##\n"
    assert encode_chunked(b"abcde", 2) == b"\n#2\nab\n#2\ncd\n#1\ne\n##\n"
