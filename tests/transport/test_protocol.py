"""Hello, framing and rpc envelope behaviour over a real Unix socket, with the raw client."""

from __future__ import annotations

import time

import pytest
from support.rawclient import CAP_10, CAP_11, RawClient, errors, hello_xml, is_ok, rpc_xml
from support.server import HvdInstance
from support.waiting import wait_for

LOCK = "<lock><target><running/></target></lock>"
UNLOCK = "<unlock><target><running/></target></unlock>"


def test_eom_session(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello("1.0")
        assert is_ok(c.rpc(LOCK))
        assert is_ok(c.rpc(UNLOCK, "2"))


def test_chunked_session_in_many_small_chunks(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello("1.1")
        body = rpc_xml(LOCK, "m1")
        c.send(b"".join(b"\n#1\n" + bytes([b]) for b in body) + b"\n##\n")
        reply = c.read_xml()
        assert is_ok(reply) and reply.get("message-id") == "m1"


def test_server_hello_advertises_both_bases(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        hello = c.hello()
        caps = [x.text for x in hello.iter("{*}capability")]
        assert CAP_10 in caps and CAP_11 in caps
        assert c.session_id >= 1


@pytest.mark.parametrize("bad", [
    b"\n#012\n", b"\n#0\n", b"\n#1x\n", b"\n#99999999999\n", b"#5\n", b"\n#5 \n",
])
def test_bad_chunk_header_closes_session(hvd: HvdInstance, bad: bytes) -> None:
    with hvd.raw() as c:
        c.hello("1.1")
        c.send(bad)
        c.expect_closed()
    assert hvd.server.stats.dropped_sessions >= 1


def test_malformed_xml_on_11_gets_malformed_message(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello("1.1")
        c.send_message(b"<rpc message-id='1'><lock>")
        err = errors(c.read_xml())
        assert err[0]["tag"] == "malformed-message" and err[0]["type"] == "rpc"
        assert is_ok(c.rpc(LOCK))  # the session goes on
    assert hvd.server.stats.in_bad_rpcs == 1


def test_malformed_xml_on_10_closes(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello("1.0")
        c.send_message(b"<rpc message-id='1'><lock>")
        c.expect_closed()


def test_missing_message_id(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello()
        reply = c.rpc(LOCK, message_id=None)
        assert reply.get("message-id") is None
        [err] = errors(reply)
        assert (err["tag"], err["type"]) == ("missing-attribute", "rpc")
        assert err["info"] == {"bad-attribute": "message-id", "bad-element": "rpc"}
        assert hvd.server.locks.holder("running") is None  # nothing ran


def test_extra_rpc_attributes_are_echoed(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello()
        reply = c.rpc(LOCK, "x&amp;1", attrs=' xmlns:ex="urn:ex" user-tag="t1" ex:trace="9"')
        assert reply.get("message-id") == "x&1"
        assert reply.get("user-tag") == "t1"
        assert reply.get("{urn:ex}trace") == "9"
        assert is_ok(reply)


def test_unknown_operation(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.hello()
        [err] = errors(c.rpc('<frobnicate xmlns="urn:nowhere"/>', "5"))
        assert (err["tag"], err["type"]) == ("operation-not-supported", "protocol")
    stats = hvd.server.stats
    assert stats.in_rpcs == 1 and stats.out_rpc_errors == 1 and stats.in_bad_rpcs == 0


def test_hello_with_session_id_is_refused(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.read_hello()
        c.send(hello_xml(CAP_11, session_id=9) + b"]]>]]>")
        c.expect_closed()
    assert hvd.server.stats.in_bad_hellos == 1


def test_no_common_base_is_refused(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.read_hello()
        c.send(hello_xml("urn:ietf:params:netconf:base:2.0") + b"]]>]]>")
        c.expect_closed()
    assert hvd.server.stats.in_bad_hellos == 1


def test_rpc_before_hello_is_a_bad_hello(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.read_hello()
        c.send(rpc_xml(LOCK) + b"]]>]]>")
        c.expect_closed()
    assert hvd.server.locks.holder("running") is None


def test_rpc_in_same_packet_as_hello_is_processed(hvd: HvdInstance) -> None:
    with hvd.raw() as c:
        c.read_hello()
        body = rpc_xml(LOCK, "early")
        c.send(hello_xml(CAP_11) + b"]]>]]>" + b"\n#%d\n%b\n##\n" % (len(body), body))
        c.chunked = True
        reply = c.read_xml()
        assert reply.get("message-id") == "early" and is_ok(reply)


def test_hello_timeout(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    inst = hvd_factory(ssh=False, hello_timeout=0.3)
    with inst.raw() as c:
        c.read_hello()
        c.send(b"<hello xmlns=")  # never completed
        t0 = time.monotonic()
        c.expect_closed(timeout=3)
        assert time.monotonic() - t0 < 2.5
    assert not inst.server.sessions.all()


def test_idle_timeout(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    inst = hvd_factory(ssh=False, idle_timeout=0.3)
    ends = []
    inst.server.add_session_end_hook(lambda info, reason, by: ends.append(reason))
    with inst.raw() as c:
        c.hello()
        assert is_ok(c.rpc(LOCK))
        c.expect_closed(timeout=3)
    assert ends == ["timeout"]
    assert inst.server.locks.holder("running") is None


def test_too_big_message(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    inst = hvd_factory(ssh=False, max_message=4096)
    with inst.raw() as c:
        c.hello()
        c.send_message(rpc_xml("<lock>" + "x" * 10_000 + "</lock>"))
        [err] = errors(c.read_xml())
        assert err["tag"] == "too-big"
        assert is_ok(c.rpc(LOCK))


def test_twenty_sessions_at_once(hvd: HvdInstance) -> None:
    clients = [hvd.raw() for _ in range(20)]
    try:
        for c in clients:
            c.hello()
        ids = {c.session_id for c in clients}
        assert len(ids) == 20
        assert len(hvd.server.sessions.all()) == 20
        # one session holds the lock; every other one is refused naming it
        assert is_ok(clients[0].rpc(LOCK))
        for c in clients[1:]:
            [err] = errors(c.rpc(LOCK, "2"))
            assert err["info"] == {"session-id": str(clients[0].session_id)}
    finally:
        for c in clients:
            c.close()


def test_stalled_client_does_not_block_others(hvd: HvdInstance) -> None:
    stalled = hvd.raw()
    stalled.hello()
    stalled.send(b"\n#100\n<rpc")  # half a message, then silence
    try:
        with hvd.raw() as c:
            c.hello()
            assert is_ok(c.rpc(LOCK))
    finally:
        stalled.close()


def test_close_session_then_ignored(hvd: HvdInstance) -> None:
    ends = []
    hvd.server.add_session_end_hook(lambda info, reason, by: ends.append((reason, by)))
    with hvd.raw() as c:
        c.hello()
        assert is_ok(c.rpc(LOCK))
        c.send_message(rpc_xml("<close-session/>", "2") + b"")
        assert is_ok(c.read_xml())
        c.expect_closed()
    assert ends == [("closed", None)]
    assert hvd.server.locks.holder("running") is None


def test_username_preamble(hvd: HvdInstance) -> None:
    import pwd, os  # noqa: E401, I001
    me = pwd.getpwuid(os.getuid()).pw_name
    ends: list[str] = []
    hvd.server.add_session_end_hook(lambda info, reason, by: ends.append(reason))
    with hvd.raw() as c:
        c.send(me.encode() + b"\0")
        c.hello()
        assert is_ok(c.rpc(LOCK))
    with hvd.raw() as c:
        c.send(b"someone-else\0" + hello_xml(CAP_11) + b"]]>]]>")
        c.expect_closed()
    wait_for(lambda: len(ends) == 2, what="both sessions to end")
    assert sorted(ends) == ["dropped", "other"]


def test_raw_client_eom_over_ssh(hvd: HvdInstance) -> None:
    c: RawClient = hvd.raw_ssh()
    try:
        c.hello("1.0")
        assert is_ok(c.rpc(LOCK))
    finally:
        c.close()
