"""NETCONF call home over SSH (RFC 8071): hvd dials each configured management station
(port 4334, netconf-ch-ssh, unless told) and is the SSH server on the connection it opened;
the station is the SSH and NETCONF client. When the connection fails or ends, hvd dials
again after a backoff that doubles from MIN_DELAY up to MAX_DELAY, and starts over from
MIN_DELAY once a connection was made.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

import paramiko

from hvd_netconf.server import Server
from hvd_netconf.transport.ssh import serve_ssh
from hvd_netconf.users import UserDB

log = logging.getLogger(__name__)

MIN_DELAY = 1.0
MAX_DELAY = 60.0
CONNECT_TIMEOUT = 10.0


class CallHome:
    """One dialling thread per management station."""

    def __init__(self, server: Server, stations: list[tuple[str, int]],
                 host_key: paramiko.PKey, users: UserDB) -> None:
        self.server = server
        self.stations = list(stations)
        self.host_key = host_key
        self.users = users
        self._stop = threading.Event()
        self._socks: dict[tuple[str, int], socket.socket] = {}
        self._mutex = threading.Lock()
        self._threads = [threading.Thread(target=self._dial, args=(st,), daemon=True,
                                          name=f"hvd-call-home-{st[0]}:{st[1]}")
                         for st in self.stations]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        with self._mutex:
            for sock in self._socks.values():
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def join_connections(self, timeout: float) -> None:
        for t in self._threads:
            t.join(timeout)

    def _dial(self, station: tuple[str, int]) -> None:
        delay = MIN_DELAY
        while not self._stop.is_set():
            try:
                sock = socket.create_connection(station, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                log.info("call home %s:%d: %s; again in %.0f s", *station, exc, delay)
            else:
                delay = MIN_DELAY
                sock.settimeout(None)
                with self._mutex:
                    self._socks[station] = sock
                log.info("call home %s:%d: connected", *station)
                try:
                    if not self._stop.is_set():
                        serve_ssh(self.server, sock, station, self.host_key, self.users)
                finally:
                    with self._mutex:
                        self._socks.pop(station, None)
                    with contextlib.suppress(OSError):
                        sock.close()
                log.info("call home %s:%d: connection ended", *station)
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, MAX_DELAY)
