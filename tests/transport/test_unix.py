"""Unix socket listener: permissions, stale files, peer identity, ncclient connect_uds."""

from __future__ import annotations

import os
import pwd
import socket
import stat

import pytest
from support.server import HvdInstance

from hvd_netconf.server import Server
from hvd_netconf.transport.unix import UnixListener, bind_socket, identity, peer_credentials


def test_socket_mode_and_removal(hvd: HvdInstance) -> None:
    st = hvd.socket_path.stat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    hvd.running.stop()
    assert not hvd.socket_path.exists()


def test_socket_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gid = os.getgroups()[0] if os.getgroups() else os.getgid()
    sock = bind_socket(tmp_path / "s.sock", 0o660, str(gid))
    try:
        assert (tmp_path / "s.sock").stat().st_gid == gid
    finally:
        sock.close()


def test_world_access_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        bind_socket(tmp_path / "s.sock", 0o666)


def test_stale_socket_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sock"
    old = socket.socket(socket.AF_UNIX)
    old.bind(str(path))
    old.close()  # a dead server's leftover
    listener = UnixListener(Server(), path)
    try:
        assert stat.S_ISSOCK(path.stat().st_mode)
    finally:
        listener.stop()


def test_live_socket_not_replaced(hvd: HvdInstance) -> None:
    with pytest.raises(RuntimeError, match="another server"):
        UnixListener(Server(), hvd.socket_path)
    assert hvd.connect_uds().connected


def test_non_socket_not_replaced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "s.sock"
    path.write_text("precious")
    with pytest.raises(RuntimeError, match="not a socket"):
        UnixListener(Server(), path)
    assert path.read_text() == "precious"


def test_peer_credentials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    a, b = socket.socketpair(socket.AF_UNIX)
    try:
        peer = peer_credentials(a)
        assert peer.uid == os.getuid() and peer.pid == os.getpid()
        name, groups = identity(peer)
        assert name == pwd.getpwuid(os.getuid()).pw_name
        assert groups
    finally:
        a.close()
        b.close()


def test_connect_uds_unchanged(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.lock("candidate")
    m.unlock("candidate")
    info = hvd.server.sessions.get(int(m.session_id)).info
    assert info.username == pwd.getpwuid(os.getuid()).pw_name
    assert info.extra["pid"] == os.getpid()
