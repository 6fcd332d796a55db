"""NETCONF over TLS (RFC 7589): TLS 1.2 or later, a client certificate is required and
checked against the configured CA, and the certificate is mapped to an hvd user name
(RFC 7589 §7): by the ietf-x509-cert-to-name entries of `tls-cert-to-name` in id order
(hvd_netconf.wire.certnames), then by the `tls-users` table: its SHA-256 fingerprint
(`sha256:AB:CD:...`) first, then its subject common name (`cn:alice`). A certificate with
no mapping gets no session: the connection is closed before the hello.

Framing is the same as over SSH; the session runs on the shared Connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from hvd_netconf.calls import SessionInfo
from hvd_netconf.server import Server, now_rfc3339
from hvd_netconf.transport.connection import Connection
from hvd_netconf.transport.listener import TcpListener
from hvd_netconf.transport.ssh import AUTH_TIMEOUT
from hvd_netconf.users import UserDB
from hvd_netconf.wire import certnames

log = logging.getLogger(__name__)

TRANSPORT = "netconf-tls"


def server_context(cert: Path, key: Path, ca: Path) -> ssl.SSLContext:
    """TLS 1.2+, our certificate, and client certificates required from `ca`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    ctx.load_verify_locations(cafile=str(ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def fingerprint(der: bytes) -> str:
    """SHA-256 of the DER certificate as colon-separated upper-case hex (openssl's form)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def map_certificate(der: bytes, users: Mapping[str, str]) -> str | None:
    """The user a client certificate stands for: `sha256:<fingerprint>` entries first, then
    `cn:<common name>`; None when nothing maps it."""
    want = fingerprint(der).replace(":", "")
    for key, user in users.items():
        kind, _, value = key.partition(":")
        if kind.lower() == "sha256" and value.replace(":", "").upper() == want:
            return user
    names = x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(
        NameOID.COMMON_NAME)
    cns = {str(n.value) for n in names}
    for key, user in users.items():
        kind, _, value = key.partition(":")
        if kind.lower() == "cn" and value in cns:
            return user
    return None


class _TlsChannel:
    """An SSL socket shared by the session's reader and the notification writer. OpenSSL
    allows one thread at a time on a connection, so reads and writes take one lock, and a
    read only takes it once select(2) says bytes are there."""

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._timeout: float | None = None

    def settimeout(self, t: float | None) -> None:
        self._timeout = t

    def recv(self, n: int) -> bytes:
        while True:
            with self._lock:
                if self._sock.pending():
                    return self._sock.recv(n)
            ready, _, _ = select.select([self._sock], [], [], self._timeout)
            if not ready:
                raise TimeoutError
            with self._lock:
                self._sock.settimeout(0.0)
                try:
                    return self._sock.recv(n)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    continue
                finally:
                    self._sock.settimeout(None)

    def sendall(self, data: bytes) -> None:
        with self._lock:
            self._sock.sendall(data)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class TlsListener(TcpListener):
    name = "tls"

    def __init__(self, server: Server, addresses: list[tuple[str, int]],
                 context: ssl.SSLContext, cert_users: Mapping[str, str],
                 users: UserDB) -> None:
        self.server = server
        self.context = context
        self.cert_users = dict(cert_users)
        self.users = users
        ca = server.settings.tls_ca
        self.cert_to_name = server.settings.tls_cert_to_name
        self.trusted = x509.load_pem_x509_certificates(ca.read_bytes()) \
            if self.cert_to_name and ca is not None else []
        super().__init__(addresses, server.settings.max_connections)

    def _handle(self, conn: socket.socket, addr: object) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(AUTH_TIMEOUT)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
            der = tls.getpeercert(binary_form=True)
        except (ssl.SSLError, OSError) as exc:
            log.info("tls %s: handshake failed: %s", addr, exc)
            with contextlib.suppress(OSError):
                conn.close()
            return
        username = (certnames.map_certificate(der, self.cert_to_name, self.trusted)
                    or map_certificate(der, self.cert_users)) if der else None
        if username is None:
            log.warning("tls %s: no user is mapped to the client certificate "
                        "(sha256 %s); closing", addr, fingerprint(der) if der else "-")
            with contextlib.suppress(OSError):
                tls.close()
            return
        tls.settimeout(None)
        info = SessionInfo(
            id=self.server.sessions.next_id(),
            username=username,
            transport=TRANSPORT,
            source_host=addr[0] if isinstance(addr, tuple) else None,
            login_time=now_rfc3339(),
        )
        user = self.users.get(username)
        if user is not None:
            info.groups = frozenset(user.groups)
        Connection(self.server, _TlsChannel(tls), info,
                   shutdown=lambda: tls.shutdown(socket.SHUT_RDWR)).run()
