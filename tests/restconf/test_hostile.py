"""Hostile input over HTTPS: each is refused or bounded, and the server keeps serving."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import time

import httpx
import pytest
from restconf.conftest import JSON, Restconf
from support.server import PASSWORD, USER
from support.waiting import wait_for

VMS = "/restconf/data/hvd-vm:vms"
AUTH = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def tls(rc: Restconf) -> ssl.SSLSocket:
    host, port = rc.base.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=str(rc.cert))
    raw = socket.create_connection((host, int(port)), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=host)


def read_status(sock: ssl.SSLSocket) -> str:
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def still_serves(rc: Restconf) -> None:
    assert rc.client().get(VMS).status_code == 200


def test_tls_1_2_is_the_floor(rc: Restconf) -> None:
    """The server's context refuses anything older than TLS 1.2 (the client library here
    cannot even offer TLS 1.1 to prove it over the wire), and TLS 1.2 itself works."""
    listener = rc.hvd.running.restconf
    assert listener is not None
    assert listener.ssl.minimum_version == ssl.TLSVersion.TLSv1_2
    host, port = rc.base.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=str(rc.cert))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, int(port)), timeout=10) as raw, \
            ctx.wrap_socket(raw, server_hostname=host) as s:
        assert s.version() == "TLSv1.2"
    still_serves(rc)


@pytest.mark.parametrize("framing, body", [
    ("Content-Length: 1000000000", [b"{" * 4096]),  # a sliver of the promised gigabyte
    ("Transfer-Encoding: chunked", [b"8000\r\n" + b" " * 0x8000 + b"\r\n"] * 64),  # 2 MiB
])
def test_huge_body_refused_at_the_limit(rc_factory, framing: str, body: list[bytes]) -> None:
    rc = rc_factory(restconf_max_body=64 * 1024)
    with tls(rc) as s:
        s.sendall((f"POST {VMS} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {AUTH}\r\n"
                   f"Content-Type: {JSON}\r\n{framing}\r\n\r\n").encode())
        for piece in body:
            try:
                s.sendall(piece)
            except OSError:  # the server answered and closed before taking it all
                break
        assert read_status(s) == "HTTP/1.1 413 Request Entity Too Large"
    still_serves(rc)


def test_deeply_nested_json(rc: Restconf) -> None:
    c = rc.client()
    body = b'{"hvd-vm:vms": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    r = c.post(VMS, content=body, headers={"Content-Type": JSON})
    assert r.status_code == 400
    assert r.json()["ietf-restconf:errors"]["error"][0]["error-tag"] == "malformed-message"
    nested = b'{"hvd-vm:vms": ' + b'{"vm": ' * 100 + b"{}" + b"}" * 100 + b"}"
    assert c.post(VMS, content=nested, headers={"Content-Type": JSON}).status_code == 400
    still_serves(rc)


def test_malformed_utf8(rc: Restconf) -> None:
    c = rc.client()
    r = c.post(VMS, content=b'{"hvd-vm:vm": [{"name": "\xff\xfe"}]}',
               headers={"Content-Type": JSON})
    assert r.status_code == 400
    assert "UTF-8" in r.json()["ietf-restconf:errors"]["error"][0]["error-message"]
    r = c.get(f"{VMS}/vm=%ff%fe")
    assert r.status_code == 400
    r = c.post(VMS, content=b'<vm xmlns="urn:hvd:vm"><name>\xff</name></vm>',
               headers={"Content-Type": "application/yang-data+xml"})
    assert r.status_code == 400
    still_serves(rc)


def test_slow_headers_are_cut_off(rc_factory) -> None:
    rc = rc_factory(restconf_header_timeout=1.0)
    with tls(rc) as s:
        s.sendall(f"GET {VMS} HTTP/1.1\r\nHost: x\r\n".encode())
        s.settimeout(0.2)
        closed = False
        deadline = time.monotonic() + 20  # 100 header lines at 0.2 s: far past the timeout
        for i in range(100):
            try:
                s.sendall(f"X-Slow-{i}: y\r\n".encode())
                if s.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except (OSError, ssl.SSLError):
                closed = True
                break
            if time.monotonic() > deadline:
                break
        assert closed, "a request trickling in for 20 s was never cut off"
        assert i >= 2, "closed before the header timeout: not the slow headers' doing"
    still_serves(rc)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def refused(s: socket.socket) -> bool:
    """The server closed it (end of file or reset); a kept one is waiting for a ClientHello."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def test_many_parallel_connections_are_bounded(rc_factory) -> None:
    """1,000 sockets opened at once and left silent: at most restconf-max-connections are
    kept (the rest are closed at accept, before TLS), the server's descriptors stay bounded,
    a client already connected is still served, a new one once the flood leaves, and nothing
    changed."""
    rc = rc_factory(restconf_max_connections=50)
    host, port = rc.base.removeprefix("https://").rsplit(":", 1)
    # httpx drops an idle pooled connection after 5 s; a loaded machine can take that long
    # to open the flood, and a reconnect then would rightly be refused: keep it for the test.
    c = rc.client(limits=httpx.Limits(keepalive_expiry=600))
    first = c.get(VMS)
    assert first.status_code == 200
    before = open_fds()
    held: list[socket.socket] = []
    try:
        for _ in range(1000):
            held.append(socket.create_connection((host, int(port)), timeout=10))
        wait_for(lambda: sum(refused(s) for s in held) >= 1000 - 49, 30, "the refusals")
        kept = [s for s in held if not refused(s)]
        assert len(kept) <= 49  # the limit, less the client's kept-alive connection
        # this process holds the clients' ends too; the server's side is bounded by the limit
        assert open_fds() - before - len(held) <= 50 + 10
        assert c.get(VMS).json() == first.json()  # the kept-alive client is still served
    finally:
        for s in held:
            s.close()
    fresh = rc.client()
    wait_for(lambda: fresh.get(VMS).status_code == 200, 30, "a new client to be served")
    assert fresh.get(VMS).json() == first.json()
