"""NETCONF over an AF_UNIX stream socket; the peer's identity comes from the kernel."""

from __future__ import annotations

import contextlib
import errno
import grp
import logging
import os
import pwd
import socket
import stat
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from hvd_netconf.calls import SessionInfo
from hvd_netconf.server import Server, now_rfc3339
from hvd_netconf.transport.connection import Connection
from hvd_netconf.transport.listener import AcceptLoop

log = logging.getLogger(__name__)

TRANSPORT = "hvd-unix"
# FreeBSD <sys/un.h>: SOL_LOCAL 0, LOCAL_PEERCRED 1; <sys/ucred.h>: struct xucred, XU_NGROUPS 16.
_SOL_LOCAL = 0
_LOCAL_PEERCRED = 1
_XUCRED = struct.Struct("=IIh2x16I")


@dataclass(frozen=True)
class Peer:
    uid: int
    gids: tuple[int, ...]
    pid: int | None = None


def peer_credentials(sock: socket.socket) -> Peer:
    if sys.platform.startswith("linux"):
        fmt = "3i"
        pid, uid, gid = struct.unpack(fmt, sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(fmt)))
        return Peer(uid, (gid,), pid)
    raw = sock.getsockopt(_SOL_LOCAL, _LOCAL_PEERCRED, 256)
    _version, uid, ngroups, *groups = _XUCRED.unpack_from(raw)
    return Peer(uid, tuple(groups[: max(0, min(ngroups, 16))]))


def identity(peer: Peer) -> tuple[str, frozenset[str]]:
    """The user name and group names for NACM; unknown ids become their numbers."""
    try:
        pw = pwd.getpwuid(peer.uid)
        name, gids = pw.pw_name, set(peer.gids)
        with contextlib.suppress(OSError):
            gids.update(os.getgrouplist(pw.pw_name, pw.pw_gid))
    except KeyError:
        name, gids = str(peer.uid), set(peer.gids)
    groups = set()
    for gid in gids:
        try:
            groups.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            groups.add(str(gid))
    return name, frozenset(groups)


def _remove_stale(path: Path) -> None:
    """Remove a leftover socket file, but never a live server's socket or a non-socket."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise RuntimeError(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1)
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise
    else:
        raise RuntimeError(f"another server is listening on {path}")
    finally:
        probe.close()
    path.unlink(missing_ok=True)


def bind_socket(path: Path, mode: int = 0o660, group: str | None = None) -> socket.socket:
    """Bind under a temporary name with a strict umask, fix mode and group, then rename."""
    if mode & 0o007:
        raise ValueError("the NETCONF socket must never be accessible to others")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(tmp))
    finally:
        os.umask(old)
    try:
        if group is not None:
            gid = grp.getgrnam(group).gr_gid if not group.isdigit() else int(group)
            os.chown(tmp, -1, gid)
        os.chmod(tmp, mode)
        sock.listen(128)
        os.rename(tmp, path)
    except BaseException:
        sock.close()
        tmp.unlink(missing_ok=True)
        raise
    return sock


class UnixListener:
    def __init__(self, server: Server, path: Path, *, mode: int = 0o660,
                 group: str | None = None) -> None:
        self.server = server
        self.path = Path(path)
        self._sock = bind_socket(self.path, mode, group)
        self._ino = os.stat(self.path).st_ino
        self._loop = AcceptLoop("unix", [self._sock], self._handle,
                                max_connections=server.settings.max_connections,
                                privileged=lambda c: peer_credentials(c).uid == 0)

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._ino:  # never remove a successor's socket
                self.path.unlink()

    def join_connections(self, timeout: float) -> None:
        self._loop.join_connections(timeout)

    def _handle(self, conn: socket.socket, _addr: object) -> None:
        peer = peer_credentials(conn)
        name, groups = identity(peer)
        info = SessionInfo(
            id=self.server.sessions.next_id(),
            username=name,
            transport=TRANSPORT,
            source_host=None,
            login_time=now_rfc3339(),
            uid=peer.uid,
            groups=groups,
        )
        if peer.pid is not None:
            info.extra["pid"] = peer.pid
        Connection(self.server, conn, info, allow_preamble=True,
                   shutdown=lambda: conn.shutdown(socket.SHUT_RDWR)).run()
