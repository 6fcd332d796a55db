from __future__ import annotations

from lxml import etree
from support.rawclient import errors, hello_xml, rpc_xml

from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11
from hvd_netconf.wire.framing import encode_chunked
from hvd_netconf.wire.session import (
    Close,
    HelloDone,
    Preamble,
    RpcReceived,
    Send,
    WireLimits,
    WireSession,
)

CAPS = [CAP_BASE_10, CAP_BASE_11]
EOM = b"]]>]]>"


def session(**kw: object) -> WireSession:
    return WireSession(7, CAPS, **kw)  # type: ignore[arg-type]


def test_server_hello_is_eom_framed_with_session_id() -> None:
    data = session().hello_bytes()
    assert data.endswith(EOM)
    hello = etree.fromstring(data[: -len(EOM)])
    assert hello.findtext(f"{{{BASE}}}session-id") == "7"


def test_11_switches_to_chunked_and_rpc_in_same_read_is_processed() -> None:
    s = session()
    evs = s.receive(hello_xml(CAP_BASE_11) + EOM + encode_chunked(rpc_xml("<get/>")))
    assert isinstance(evs[0], HelloDone) and s.base == "1.1"
    assert isinstance(evs[1], RpcReceived) and evs[1].rpc.message_id == "1"
    assert s.frame(b"<x/>") == b"\n#4\n<x/>\n##\n"


def test_10_stays_eom() -> None:
    s = session()
    evs = s.receive(hello_xml(CAP_BASE_10) + EOM + rpc_xml("<get/>") + EOM)
    assert [type(e) for e in evs] == [HelloDone, RpcReceived]
    assert s.frame(b"<x/>") == b"<x/>" + EOM


def test_byte_by_byte() -> None:
    s = session()
    data = hello_xml(CAP_BASE_11) + EOM + encode_chunked(rpc_xml("<get/>", "a"))
    evs = [e for b in data for e in s.receive(bytes([b]))]
    assert [type(e) for e in evs] == [HelloDone, RpcReceived]


def test_bad_hello_closes() -> None:
    for data in (hello_xml(CAP_BASE_11, session_id=1), hello_xml("urn:x"), b"<hello", b"junk"):
        s = session()
        evs = s.receive(data + EOM)
        assert isinstance(evs[-1], Close) and evs[-1].reason == "bad-hello", data
        assert s.receive(b"more") == []


def test_malformed_on_11_is_an_error_reply_and_session_survives() -> None:
    s = session()
    s.receive(hello_xml(CAP_BASE_11) + EOM)
    evs = s.receive(encode_chunked(b"<rpc message-id='1'><get></rpc>") + encode_chunked(
        rpc_xml("<get/>", "2")))
    assert isinstance(evs[0], Send) and evs[0].bad_rpc
    body = evs[0].data[evs[0].data.index(b"<"): evs[0].data.rindex(b"\n##")]
    assert errors(etree.fromstring(body))[0]["tag"] == "malformed-message"
    assert isinstance(evs[1], RpcReceived)


def test_malformed_on_10_closes() -> None:
    s = session()
    s.receive(hello_xml(CAP_BASE_10) + EOM)
    evs = s.receive(b"<rpc message-id='1'><get></rpc>" + EOM)
    assert len(evs) == 1 and isinstance(evs[0], Close) and evs[0].reason == "other"


def test_bad_chunk_header_closes() -> None:
    s = session()
    s.receive(hello_xml(CAP_BASE_11) + EOM)
    evs = s.receive(b"\n#01\nx\n##\n")
    assert isinstance(evs[-1], Close) and "framing" in evs[-1].detail


def test_too_big_gets_a_reply() -> None:
    s = session(limits=WireLimits(max_message=2048))
    s.receive(hello_xml(CAP_BASE_11) + EOM)
    evs = s.receive(encode_chunked(rpc_xml("<get>" + "x" * 5000 + "</get>")))
    assert isinstance(evs[0], Send)
    assert b"too-big" in evs[0].data


def test_preamble() -> None:
    s = session(allow_preamble=True)
    evs = s.receive(b"alice\0" + hello_xml(CAP_BASE_11) + EOM)
    assert evs[0] == Preamble("alice") and isinstance(evs[1], HelloDone)
    s = session(allow_preamble=True)
    evs = s.receive(b"al")
    assert evs == []
    evs = s.receive(b"ice\0" + hello_xml(CAP_BASE_11) + EOM)
    assert evs[0] == Preamble("alice")
    s = session(allow_preamble=True)
    assert isinstance(s.receive(hello_xml(CAP_BASE_10) + EOM)[0], HelloDone)
    s = session()
    assert isinstance(s.receive(b"alice\0<hello/>" + EOM)[0], Close)
