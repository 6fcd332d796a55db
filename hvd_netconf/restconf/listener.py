"""The RESTCONF HTTPS listener: an asyncio loop in its own thread beside the NETCONF ones.

TLS 1.2 or later only, with the configured certificate; `self_signed` makes one for
development (`make run`). A request must arrive whole within the header timeout, whether the
peer is silent or trickles bytes: aiohttp's keep-alive deadline starts with the connection
and closes it unless a request is in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import logging
import os
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from hvd_netconf.config import Settings
from hvd_netconf.restconf import monitoring
from hvd_netconf.restconf.app import RestconfApp
from hvd_netconf.restconf.auth import BasicAuth
from hvd_netconf.restconf.resources import Resources
from hvd_netconf.server import Server
from hvd_netconf.transport.listener import bind_addresses
from hvd_netconf.users import UserDB
from hvd_netconf.webui.site import WebUI

log = logging.getLogger(__name__)

MAX_LINE = 8190  # bytes of the request line and of one header (aiohttp's own default)


class BoundedSocket(socket.socket):
    """A listening socket whose accept() closes a connection at once, before any TLS, while
    `limit` accepted ones are still open (0: no limit). asyncio's accept loop treats the
    ConnectionAbortedError as an empty queue and keeps listening; the transports close the
    sockets accept() returned, which is how they leave the count."""

    limit = 0

    def bound(self, limit: int) -> None:
        self.limit = limit
        self.served: list[socket.socket] = []

    def accept(self) -> tuple[socket.socket, Any]:
        conn, addr = super().accept()
        if self.limit:
            self.served = [c for c in self.served if c.fileno() != -1]
            if len(self.served) >= self.limit:
                conn.close()
                log.warning("restconf: %d connections open, refusing %s", self.limit, addr)
                raise ConnectionAbortedError
            self.served.append(conn)
        return conn, addr


def bounded(sock: socket.socket, limit: int) -> BoundedSocket:
    out = BoundedSocket(sock.family, sock.type, sock.proto, fileno=sock.detach())
    out.bound(limit)
    return out


def tls_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """TLS 1.2+ with the server's certificate; with client_ca, a client may also present a
    certificate those CAs signed (optional: HTTP Basic still works without one)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert), str(key))
    if client_ca is not None:
        ctx.load_verify_locations(cafile=str(client_ca))
        ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def self_signed(cert: Path, key: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1",
                                                                   "::1")) -> None:
    """Write a P-256 key (0600) and a one-year self-signed certificate for `names`, unless
    both files exist. For development: clients must be told to trust it."""
    if cert.exists() and key.exists():
        return
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


class RestconfListener:
    def __init__(self, server: Server, settings: Settings, users: UserDB) -> None:
        assert settings.restconf_cert is not None and settings.restconf_key is not None
        self.ssl = tls_context(settings.restconf_cert, settings.restconf_key,
                               settings.restconf_client_ca)
        self.settings = settings
        ca = settings.restconf_client_ca
        trusted = x509.load_pem_x509_certificates(ca.read_bytes()) if ca is not None else []
        self.sockets = [bounded(s, settings.restconf_max_connections)
                        for s in bind_addresses(list(settings.restconf_listen))]
        self.web = RestconfApp(server, Resources(server, settings.max_depth),
                               BasicAuth(users, settings.restconf_auth_delay,
                                         settings.restconf_cert_to_name, trusted),
                               settings.restconf_max_body, WebUI())
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="hvd-restconf",
                                        daemon=True)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [s.getsockname()[:2] for s in self.sockets]

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(30)
        monitoring.serving(self.web.server, self.addresses)

    async def _serve(self) -> None:
        timeout = self.settings.restconf_header_timeout
        self._runner = web.AppRunner(self.web.app, keepalive_timeout=timeout,
                                     max_line_size=MAX_LINE, max_field_size=MAX_LINE,
                                     access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        for sock in self.sockets:
            await web.SockSite(self._runner, sock, ssl_context=self.ssl).start()

    async def _shutdown(self) -> None:
        self.web.end_streams()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self.web.close()
        for sock in self.sockets:
            sock.close()

    def join_connections(self, timeout: float) -> None:
        """Requests in flight finished in stop(); nothing is left to wait for."""
