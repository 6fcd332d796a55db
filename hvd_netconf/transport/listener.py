"""An accept loop over one or more listening sockets, stoppable from any thread, and the
TCP listener the SSH and TLS transports share."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Handler = Callable[[socket.socket, object], None]
Privileged = Callable[[socket.socket], bool]


class AcceptLoop:
    """Accepts on every socket and starts one thread per connection running `handler`.

    At most `max_connections` connections are served at once (0: no limit); more are closed
    at once, unless `privileged(conn)` says the peer is the recovery user.
    """

    def __init__(self, name: str, sockets: list[socket.socket], handler: Handler, *,
                 max_connections: int = 0, privileged: Privileged | None = None) -> None:
        self.name = name
        self.sockets = sockets
        self.handler = handler
        self.max_connections = max_connections
        self.privileged = privileged
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=f"hvd-{name}-accept",
                                        daemon=True)
        self._conn_threads: set[threading.Thread] = set()
        self._mutex = threading.Lock()

    def start(self) -> None:
        for s in self.sockets:
            s.setblocking(False)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(5)
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def join_connections(self, timeout: float) -> None:
        with self._mutex:
            threads = list(self._conn_threads)
        for t in threads:
            t.join(timeout)

    def _loop(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._wake_r, selectors.EVENT_READ)
        for s in self.sockets:
            sel.register(s, selectors.EVENT_READ)
        try:
            while not self._stopping:
                for key, _ in sel.select():
                    if key.fileobj == self._wake_r or self._stopping:
                        return
                    self._accept(key.fileobj)  # type: ignore[arg-type]
        finally:
            sel.close()

    def _accept(self, lsock: socket.socket) -> None:
        try:
            conn, addr = lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("%s: accept failed: %s", self.name, exc)
            return
        conn.setblocking(True)
        with self._mutex:
            busy = len(self._conn_threads)
        if self.max_connections and busy >= self.max_connections and not (
                self.privileged is not None and self.privileged(conn)):
            log.warning("%s: %d connections already served, refusing one more", self.name, busy)
            with contextlib.suppress(OSError):
                conn.close()
            return
        t = threading.Thread(target=self._serve, args=(conn, addr), daemon=True,
                             name=f"hvd-{self.name}-session")
        with self._mutex:
            self._conn_threads.add(t)
        t.start()

    def _serve(self, conn: socket.socket, addr: object) -> None:
        try:
            self.handler(conn, addr)
        except Exception:
            log.exception("%s: connection handler failed", self.name)
            with contextlib.suppress(OSError):
                conn.close()
        finally:
            with self._mutex:
                self._conn_threads.discard(threading.current_thread())


def bind_addresses(addresses: list[tuple[str, int]]) -> list[socket.socket]:
    socks = []
    try:
        for host, port in addresses:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                       flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV)
            family, kind, proto, _, addr = infos[0]
            s = socket.socket(family, kind, proto)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind(addr)
            s.listen(128)
            socks.append(s)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


class TcpListener:
    """An AcceptLoop on TCP addresses; a subclass serves each connection in `_handle`."""

    name = "tcp"

    def __init__(self, addresses: list[tuple[str, int]], max_connections: int) -> None:
        self.sockets = bind_addresses(addresses)
        self._loop = AcceptLoop(self.name, self.sockets, self._handle,
                                max_connections=max_connections)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [s.getsockname()[:2] for s in self.sockets]

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()

    def join_connections(self, timeout: float) -> None:
        self._loop.join_connections(timeout)

    def _handle(self, conn: socket.socket, addr: object) -> None:
        raise NotImplementedError
