"""Hostile input on the wire: every bound ends in an error reply or a closed session, the
server keeps serving others, and its memory stays bounded."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from support.rawclient import RawClient, ServerClosed, errors, is_ok
from support.server import HvdInstance
from support.waiting import wait_for

GET = "<get-config><source><running/></source></get-config>"
LOCK = "<lock><target><running/></target></lock>"


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def small(hvd_factory: Callable[..., HvdInstance]) -> HvdInstance:
    return hvd_factory(max_message=64 * 1024, max_chunk=16 * 1024, max_depth=16,
                       max_elements=500, max_hello=4096, hello_timeout=1.5)


def still_serves(inst: HvdInstance) -> None:
    with inst.raw() as c:
        c.hello()
        reply = c.rpc(LOCK)
        assert is_ok(reply) or errors(reply)[0]["tag"] == "lock-denied"
        c.rpc("<unlock><target><running/></target></unlock>", "2")


def tag_of(c: RawClient, body: bytes) -> str:
    c.send_message(body)
    [err] = errors(c.read_xml())
    return err["tag"]


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;")
                                                * 10) for i in range(1, 10))
          + b']><rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1">'
          b"<get><filter>&lol9;</filter></get></rpc>")


@pytest.mark.parametrize("body", [
    LAUGHS,
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>&x;</get></rpc>',
    b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
    b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>&x;</get></rpc>',
    b'<!DOCTYPE rpc SYSTEM "file:///etc/passwd">'
    b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get/></rpc>',
    b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>'
    + b"<a>" * 1500 + b"</a>" * 1500 + b"</get></rpc>",
], ids=["billion-laughs", "file-entity", "http-entity", "doctype", "deep-nesting"])
def test_xml_attacks_are_malformed_messages(small: HvdInstance, body: bytes) -> None:
    before = rss_kib()
    with small.raw() as c:
        c.hello()
        assert tag_of(c, body) == "malformed-message"
        assert is_ok(c.rpc(LOCK))  # the same session goes on
    still_serves(small)
    assert rss_kib() - before < 32 * 1024


def test_xml_attack_on_base_10_closes_the_session(small: HvdInstance) -> None:
    with small.raw() as c:
        c.hello("1.0")
        c.send_message(LAUGHS)
        c.expect_closed()
    still_serves(small)


def test_too_many_elements_and_too_big_messages(small: HvdInstance) -> None:
    many = (b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>'
            + b"<a/>" * 1000 + b"</get></rpc>")
    big = (b'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" message-id="1"><get>'
           + b" " * 100_000 + b"</get></rpc>")
    with small.raw() as c:
        c.hello()
        assert tag_of(c, many) == "too-big"
        c.send(b"\n#%d\n%b\n##\n" % (len(big), big))  # one chunk over max-chunk
        assert errors(c.read_xml())[0]["tag"] == "too-big"
        parts = b"".join(b"\n#10000\n" + big[i:i + 10000] for i in range(0, len(big), 10000))
        c.send(parts[: -(len(big) % 10000) - 8] + b"\n#%d\n%b\n##\n" % (
            len(big) % 10000, big[-(len(big) % 10000):]))
        assert errors(c.read_xml())[0]["tag"] == "too-big"
        assert is_ok(c.rpc(LOCK))
    with small.raw() as c:
        c.hello("1.0")
        assert tag_of(c, big) == "too-big"


def test_a_1gb_chunk_header_allocates_nothing(small: HvdInstance) -> None:
    before = rss_kib()
    with small.raw() as c:
        c.hello()
        c.send(b"\n#1000000000\n" + b"x" * 200_000)
        time.sleep(0.3)
        still_serves(small)
        assert rss_kib() - before < 32 * 1024
        with pytest.raises(TimeoutError):
            c.sock.settimeout(0.3)
            c.read_message()  # nothing comes: the server is skipping the announced bytes


def test_a_hello_that_never_ends_is_closed_at_the_deadline(small: HvdInstance) -> None:
    with small.raw() as c:
        c.read_hello()
        start = time.monotonic()
        with pytest.raises((ServerClosed, OSError)):
            for _ in range(100):  # one byte every 0.1 s: each read is quick, the whole is not
                c.send(b" ")
                time.sleep(0.1)
            c.expect_closed(0.1)
        assert time.monotonic() - start < 4
    with small.raw() as c:
        c.read_hello()
        c.send(b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">' + b" " * 8192)
        c.expect_closed()  # over max-hello
    assert small.server.stats.in_bad_hellos >= 1
    still_serves(small)


def test_idle_timeout(hvd_factory: Callable[..., HvdInstance]) -> None:
    inst = hvd_factory(idle_timeout=0.5)
    with inst.raw() as c:
        c.hello()
        assert is_ok(c.rpc(LOCK))
        c.expect_closed(3)
    assert inst.server.locks.holder("running") is None


def test_session_limits_total_and_per_user_spare_the_recovery_user(
        hvd_factory: Callable[..., HvdInstance]) -> None:
    inst = hvd_factory(max_sessions=2, max_sessions_per_user=1)
    a = inst.raw_ssh()
    a.hello()
    b = inst.raw_ssh()  # same user: over max-sessions-per-user
    with pytest.raises(ServerClosed):
        b.read_hello()
    b.close()
    from hvd_netconf.users import UserDB

    UserDB.for_root(inst.root).add("other", password="pw", groups=["admin"])
    inst.password, inst.username = "pw", "other"
    o = inst.raw_ssh()
    o.hello()
    inst.username = "third"
    UserDB.for_root(inst.root).add("third", password="pw")
    t = inst.raw_ssh()  # over max-sessions
    with pytest.raises(ServerClosed):
        t.read_hello()
    t.close()
    still_serves(inst)  # uid 0 on the Unix socket: the recovery session is never refused
    assert is_ok(a.rpc(LOCK))
    assert {s.info.username for s in inst.server.sessions.all()} >= {"tester", "other"}
    assert "third" not in {s.info.username for s in inst.server.sessions.all()}
    a.close()
    o.close()


def test_connection_flood_is_capped(hvd_factory: Callable[..., HvdInstance]) -> None:
    import socket

    inst = hvd_factory(max_connections=4, ssh=True)
    socks = [socket.create_connection((inst.ssh_host, inst.ssh_port)) for _ in range(12)]
    try:
        closed: set[int] = set()

        def at_least_eight_closed() -> bool:
            for i, s in enumerate(socks):
                s.settimeout(0.01)
                try:
                    if i not in closed and s.recv(100) == b"":  # (a kept one sends a banner)
                        closed.add(i)
                except TimeoutError:
                    pass
            return len(closed) >= 8

        wait_for(at_least_eight_closed, what="the connections over max-connections closed")
        still_serves(inst)  # uid 0 on the Unix socket passes the cap
    finally:
        for s in socks:
            s.close()
