"""netd detection against fake netd servers on a Unix socket (docs/freebsd-facts.md §13)."""

import socket
import struct
import threading

import pytest

from hvd_netconf.host.netd import USES_NETD, WHY_IFCONFIG, detect

HELLO = (b'<?xml version="1.0" encoding="UTF-8"?>'
         b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
         b"<capability>urn:ietf:params:netconf:base:1.1</capability></capabilities>"
         b"<session-id>1</session-id></hello>]]>]]>")


def serve(path, handler, connections=2):
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(4)

    def loop():
        for _ in range(connections):
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                handler(conn)
        srv.close()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    return t


def gen1(conn):
    conn.settimeout(3)
    try:
        (n,) = struct.unpack("=Q", conn.recv(8))
    except (TimeoutError, struct.error):
        return  # the first, silent connection gets nothing
    assert conn.recv(n) == b"show interface"
    table = b"Interface  Type  Address\nem0  ethernet  -\n"
    conn.sendall(struct.pack("=Q", len(table)) + table)


def gen1_error(conn):
    conn.settimeout(3)
    try:
        (n,) = struct.unpack("=Q", conn.recv(8))
    except (TimeoutError, struct.error):
        return
    conn.recv(n)
    msg = b"Error: Invalid NETCONF message"
    conn.sendall(struct.pack("=Q", len(msg)) + msg)


@pytest.fixture
def sock(tmp_path):
    return tmp_path / "netd.sock"


def test_generation_3_hello(sock):
    t = serve(sock, lambda c: c.sendall(HELLO), connections=1)
    found = detect(sock)
    t.join(2)
    assert found.generation == 3 and not found.used  # no candidate to edit
    assert "urn:ietf:params:netconf:base:1.1" in found.capabilities
    assert WHY_IFCONFIG in found.summary()


def test_generation_3_with_a_candidate_is_used(sock):
    hello = HELLO.replace(b"</capabilities>", b"<capability>urn:ietf:params:netconf:"
                          b"capability:candidate:1.0</capability></capabilities>")
    t = serve(sock, lambda c: c.sendall(hello), connections=1)
    found = detect(sock)
    t.join(2)
    assert found.used and USES_NETD in found.summary()


def test_generation_1_table(sock):
    t = serve(sock, gen1)
    found = detect(sock, timeout=0.3)
    t.join(2)
    assert found.generation == 1 and "interface table" in found.reason and not found.used


def test_error_reply_is_read_and_not_taken_for_success(sock):
    t = serve(sock, gen1_error)
    found = detect(sock, timeout=0.3)
    t.join(2)
    assert found.generation is None and "Invalid NETCONF message" in found.reason


def test_garbage_greeting(sock):
    t = serve(sock, lambda c: c.sendall(b"<rpc-reply>oops</rpc-reply>]]>]]>"), 1)
    found = detect(sock)
    t.join(2)
    assert found.generation is None and "not a hello" in found.reason


def test_no_socket(sock):
    found = detect(sock)
    assert found.generation is None and "cannot connect" in found.reason
