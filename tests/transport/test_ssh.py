"""SSH transport: authentication, subsystem, host key, bind addresses."""

from __future__ import annotations

import socket
import stat

import paramiko
import pytest
from ncclient.transport.errors import AuthenticationError
from support.server import HvdInstance, make_key

from hvd_netconf.transport.ssh import HOST_KEY_NAME, load_host_key


def test_password_auth(hvd: HvdInstance) -> None:
    m = hvd.connect_ssh()
    assert m.connected and int(m.session_id) >= 1


def test_key_auth(hvd: HvdInstance) -> None:
    m = hvd.connect_ssh(key=True)
    m.lock("running")
    assert hvd.server.sessions.get(int(m.session_id)).info.username == "tester"


def test_wrong_password(hvd: HvdInstance) -> None:
    with pytest.raises(AuthenticationError):
        hvd.connect_ssh(password="wrong")


def test_unknown_user(hvd: HvdInstance) -> None:
    with pytest.raises(AuthenticationError):
        hvd.connect_ssh(username="mallory")


def test_unlisted_key(hvd: HvdInstance, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other_key"
    make_key(other)
    with pytest.raises(AuthenticationError):
        hvd.connect_ssh(key=True, key_filename=str(other))


def test_only_netconf_subsystem(hvd: HvdInstance) -> None:
    t = paramiko.Transport(socket.create_connection((hvd.ssh_host, hvd.ssh_port)))
    try:
        t.connect(username=hvd.username, password=hvd.password)
        chan = t.open_session()
        with pytest.raises(paramiko.SSHException):
            chan.invoke_subsystem("sftp")
        chan2 = t.open_session()
        with pytest.raises(paramiko.SSHException):
            chan2.exec_command("id")
    finally:
        t.close()
    assert not hvd.server.sessions.all()


def test_host_key_is_kept(hvd: HvdInstance) -> None:
    path = hvd.root / ".hvd" / HOST_KEY_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    before = load_host_key(hvd.root / ".hvd").asbytes()
    t = paramiko.Transport(socket.create_connection((hvd.ssh_host, hvd.ssh_port)))
    try:
        t.start_client()
        assert t.get_remote_server_key().asbytes() == before
    finally:
        t.close()


def test_binds_only_the_given_address(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    inst = hvd_factory(listen=(("127.0.0.1", 0),))
    [(host, port)] = inst.running.ssh_addresses
    assert host == "127.0.0.1"
    addrs = [s.getsockname() for s in inst.running.ssh.sockets]
    assert addrs == [("127.0.0.1", port)]
    # another loopback address on the same port is not served
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.2", port), timeout=1).close()


def test_ipv6_and_several_addresses(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    if not socket.has_ipv6:
        pytest.fail("IPv6 is expected on the test machine")
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.fail("::1 must be bindable on the test machine")
    inst = hvd_factory(listen=(("127.0.0.1", 0), ("::1", 0)))
    fams = sorted(s.family for s in inst.running.ssh.sockets)
    assert fams == sorted([socket.AF_INET, socket.AF_INET6])
    v6port = inst.running.ssh.sockets[1].getsockname()[1]
    m = inst.connect_ssh()
    m.lock("running")
    inst.ssh_host, inst.ssh_port = "::1", v6port
    m6 = inst.connect_ssh()
    with pytest.raises(Exception, match="lock"):
        m6.lock("running")


def test_no_ssh_by_default(hvd_factory) -> None:  # type: ignore[no-untyped-def]
    inst = hvd_factory(ssh=False)
    assert inst.running.ssh is None
