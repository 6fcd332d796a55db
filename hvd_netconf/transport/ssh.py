"""NETCONF over SSH (RFC 6242): paramiko server, subsystem `netconf` only, bound where told."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

from hvd_netconf.calls import SessionInfo
from hvd_netconf.server import Server, now_rfc3339
from hvd_netconf.transport.connection import Connection
from hvd_netconf.transport.listener import TcpListener
from hvd_netconf.users import UserDB

log = logging.getLogger(__name__)


class _PeerGone(logging.Filter):
    """paramiko logs a client that simply went away ("Socket exception: Connection reset by
    peer") at ERROR; for a server that is an ordinary disconnect, so it becomes INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and "Socket exception" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


logging.getLogger("paramiko.transport").addFilter(_PeerGone())

TRANSPORT = "netconf-ssh"
HOST_KEY_NAME = "ssh_host_ed25519_key"
AUTH_TIMEOUT = 30.0
GRACE = 1.0  # seconds a closed session keeps its SSH connection for the client to leave


def ensure_ed25519_key(path: Path) -> paramiko.Ed25519Key:
    """An ed25519 key at path, made on first use in OpenSSH format with mode 0600."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        os.replace(tmp, path)
    return paramiko.Ed25519Key.from_private_key_file(str(path))


def load_host_key(state_dir: Path) -> paramiko.PKey:
    """The server's host key, kept under ROOT/.hvd/."""
    return ensure_ed25519_key(Path(state_dir) / HOST_KEY_NAME)


class _Auth(paramiko.ServerInterface):
    def __init__(self, users: UserDB) -> None:
        self.users = users
        self.username: str | None = None
        self.subsystem = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        if self.users.check_password(username, password):
            self.username = username
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if self.users.key_allowed(username, key.get_name(), key.asbytes()):
            self.username = username
            return AUTH_SUCCESSFUL
        return AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session" and not self.subsystem.is_set():
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != "netconf" or self.subsystem.is_set():
            return False
        self.subsystem.set()
        return True


class SshListener(TcpListener):
    name = "ssh"

    def __init__(self, server: Server, addresses: list[tuple[str, int]], host_key: paramiko.PKey,
                 users: UserDB) -> None:
        self.server = server
        self.host_key = host_key
        self.users = users
        super().__init__(addresses, server.settings.max_connections)

    def _handle(self, conn: socket.socket, addr: object) -> None:
        serve_ssh(self.server, conn, addr, self.host_key, self.users)


def serve_ssh(server: Server, conn: socket.socket, addr: object, host_key: paramiko.PKey,
              users: UserDB) -> None:
    """Be the SSH server on a connected socket (accepted, or dialled for call home) and run
    its NETCONF session to the end."""
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(conn)
    transport.add_server_key(host_key)
    auth = _Auth(users)
    try:
        transport.start_server(server=auth)
        channel = transport.accept(AUTH_TIMEOUT)
        if channel is None or not auth.subsystem.wait(AUTH_TIMEOUT):
            log.info("ssh %s: no netconf subsystem requested", addr)
            transport.close()
            return
    except (paramiko.SSHException, EOFError, OSError) as exc:
        log.info("ssh %s: %s", addr, exc)
        transport.close()
        return
    host = addr[0] if isinstance(addr, tuple) else None
    info = SessionInfo(
        id=server.sessions.next_id(),
        username=auth.username or "",
        transport=TRANSPORT,
        source_host=host,
        login_time=now_rfc3339(),
    )
    user = users.get(info.username)
    if user is not None:
        info.groups = frozenset(user.groups)
    Connection(server, _SshChannel(channel, transport), info).run()


class _SshChannel:
    """A paramiko channel whose close() also closes the SSH connection."""

    def __init__(self, channel: paramiko.Channel, transport: paramiko.Transport) -> None:
        self._channel = channel
        self._transport = transport
        self.recv = channel.recv
        self.sendall = channel.sendall
        self.settimeout = channel.settimeout

    def close(self) -> None:
        """Close the channel now and the connection shortly after, so the client sees an
        orderly channel close instead of a reset; the timer also bounds a peer that stays.
        A peer that is already gone is the normal end of a session, not an error."""
        with contextlib.suppress(EOFError, OSError):
            self._channel.close()
        if self._transport.is_active():
            timer = threading.Timer(GRACE, self._transport.close)
            timer.daemon = True
            timer.start()
