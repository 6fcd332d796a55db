"""NETCONF call home over SSH (RFC 8071): hvd dials the management station, which is the SSH
client on that connection (ncclient's call-home listener), and dials again when it drops."""

from __future__ import annotations

import socket
from collections.abc import Callable

from ncclient import manager
from support.server import PASSWORD, USER, HvdInstance
from support.waiting import wait_for

from hvd_netconf import config

CLIENT = dict(username=USER, password=PASSWORD, hostkey_verify=False, look_for_keys=False,
              allow_agent=False, timeout=20)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ncclient_call_home_listener_gets_a_session(
        hvd_factory: Callable[..., HvdInstance]) -> None:
    port = free_port()
    inst = hvd_factory(ssh=False, call_home=(("127.0.0.1", port),))
    m = manager.call_home(host="127.0.0.1", port=port, **CLIENT)
    assert m.connected and "urn:ietf:params:netconf:base:1.1" in m.server_capabilities
    m.lock("running")
    assert inst.server.locks.holder("running") == int(m.session_id)
    [session] = inst.server.sessions.all()
    assert session.info.username == USER and session.info.transport == "netconf-ssh"
    m.close_session()


def test_hvd_calls_again_after_the_connection_drops(
        hvd_factory: Callable[..., HvdInstance]) -> None:
    """What ncclient's call_home does (accept, then SSH as the client on that socket), on a
    listener kept open so hvd can reach it twice."""
    with socket.socket() as lsock:
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind(("127.0.0.1", 0))
        lsock.listen()
        lsock.settimeout(20)
        port = lsock.getsockname()[1]
        inst = hvd_factory(ssh=False, call_home=(("127.0.0.1", port),))
        conn, _ = lsock.accept()
        m = manager.connect_ssh(host="127.0.0.1", sock=conn, **CLIENT)
        m.lock("running")
        first = m.session_id
        m._session.close()  # the station drops the connection
        wait_for(lambda: inst.server.locks.holder("running") is None)
        conn, _ = lsock.accept()
        again = manager.connect_ssh(host="127.0.0.1", sock=conn, **CLIENT)
        assert again.connected and again.session_id != first
        again.lock("running")
        assert inst.server.locks.holder("running") == int(again.session_id)
        again.close_session()


def test_call_home_settings() -> None:
    s = config.from_mapping({"call-home": ["192.0.2.1", "nms.example:5000", "[2001:db8::1]"]})
    assert s.call_home == (("192.0.2.1", 4334), ("nms.example", 5000), ("2001:db8::1", 4334))
    assert config.Settings().call_home == ()
