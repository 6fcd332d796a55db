"""Prometheus' /metrics (metrics-listen in hvd.conf; off by default), docs/statistics.md.

Each scrape is a NETCONF <get> of the statistics, run in process as the scraping user, so NACM's
read rules decide what is exported exactly as over NETCONF: a VM the user may not read has no
metric. On a loopback address nobody logs in: the scrape runs as the user `hvd-metrics` (no
groups), which NACM rules can name. On any other address HTTPS and HTTP Basic authentication
against hvd's users are required (config.check refuses metrics-listen there without
metrics-cert and metrics-key), with RESTCONF's delay after failed logins.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from lxml import etree
from prometheus_client import CONTENT_TYPE_LATEST

from hvd_netconf import xmlparse
from hvd_netconf.calls import SessionInfo
from hvd_netconf.config import Settings, is_loopback
from hvd_netconf.namespaces import BASE, HVD, NETWORK, VM, qn
from hvd_netconf.restconf.auth import BasicAuth, Identity
from hvd_netconf.restconf.listener import tls_context
from hvd_netconf.server import Server, now_rfc3339
from hvd_netconf.stats.exposition import exposition
from hvd_netconf.transport.listener import bind_addresses
from hvd_netconf.users import UserDB
from hvd_netconf.wire import messages

log = logging.getLogger(__name__)

TRANSPORT = "metrics-http"
LOCAL_USER = "hvd-metrics"
REQUEST_TIMEOUT = 30.0
_FILTER = (f'<vms xmlns="{VM}"><vm><name/><state><status/></state><statistics/></vm></vms>'
           f'<networks xmlns="{NETWORK}"><network><name/><statistics/></network></networks>'
           f'<host xmlns="{HVD}"><statistics/></host>')


def scrape(server: Server, info: SessionInfo) -> bytes:
    """The exposition of what this session may read of the statistics."""
    op = xmlparse.parse(f'<get xmlns="{BASE}"><filter type="subtree">{_FILTER}</filter></get>'
                        .encode())
    reply = xmlparse.parse(server.dispatch(info, messages.Rpc({"message-id": "metrics"}, op)))
    data = reply.find(qn(BASE, "data"))
    if data is None:  # an rpc-error: the user may not run <get>
        raise PermissionError("the scrape's <get> was refused")
    return exposition(data)


class _Http(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, sock: socket.socket, handler: type[BaseHTTPRequestHandler],
                 tls: ssl.SSLContext | None, local: bool) -> None:
        super().__init__(sock.getsockname()[:2], handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_name, self.server_port = str(sock.getsockname()[0]), sock.getsockname()[1]
        self.tls = tls
        self.local = local

    def get_request(self) -> tuple[Any, Any]:
        conn, addr = self.socket.accept()
        if self.tls is not None:  # the handshake runs in the request's thread, on first read
            conn = self.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr


class MetricsListener:
    def __init__(self, server: Server, settings: Settings, users: UserDB) -> None:
        tls = (tls_context(settings.metrics_cert, settings.metrics_key)
               if settings.metrics_cert and settings.metrics_key else None)
        self.auth = BasicAuth(users, settings.restconf_auth_delay)
        handler = self._handler(server)
        socks = bind_addresses(list(settings.metrics_listen))
        self.servers = [_Http(s, handler, tls, is_loopback(host))
                        for s, (host, _port) in zip(socks, settings.metrics_listen, strict=True)]
        self._threads = [threading.Thread(target=h.serve_forever, name="hvd-metrics",
                                          daemon=True) for h in self.servers]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [h.socket.getsockname()[:2] for h in self.servers]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        for h, t in zip(self.servers, self._threads, strict=True):
            if t.is_alive():
                h.shutdown()
            h.server_close()

    def join_connections(self, timeout: float) -> None:
        """A scrape in flight is one <get>; nothing waits on it."""

    def _handler(self, server: Server) -> type[BaseHTTPRequestHandler]:
        auth = self.auth

        class Handler(BaseHTTPRequestHandler):
            timeout = REQUEST_TIMEOUT
            server_version = "hvd"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics: %s " + format, self.client_address[0], *args)

            def _send(self, status: int, body: bytes, content_type: str,
                      headers: tuple[tuple[str, str], ...] = ()) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.partition("?")[0] != "/metrics":
                    self._send(404, b"hvd serves /metrics only\n", "text/plain")
                    return
                who: Identity | None = Identity(LOCAL_USER, frozenset())
                address = str(self.client_address[0])
                assert isinstance(self.server, _Http)
                if not self.server.local:
                    header = self.headers.get("Authorization")
                    who = auth.check(header) if header else None
                    if who is None:
                        if header:
                            time.sleep(auth.failed(address))
                        self._send(401, b"authentication required (HTTP Basic)\n",
                                   "text/plain", (("WWW-Authenticate", 'Basic realm="hvd"'),))
                        return
                    auth.succeeded(address)
                assert who is not None
                info = SessionInfo(id=server.sessions.next_id(), username=who.username,
                                   transport=TRANSPORT, source_host=address,
                                   login_time=now_rfc3339(), groups=who.groups)
                try:
                    body = scrape(server, info)
                except PermissionError:
                    self._send(403, b"access denied\n", "text/plain")
                    return
                except (etree.LxmlError, ValueError):
                    log.exception("metrics: the scrape failed")
                    self._send(500, b"the scrape failed; see hvd's log\n", "text/plain")
                    return
                self._send(200, body, CONTENT_TYPE_LATEST)

        return Handler
