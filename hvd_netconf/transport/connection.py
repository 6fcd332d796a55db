"""One NETCONF session over any byte channel, run by one thread; shared by Unix and SSH.

Replies are written by the session's own thread. Notifications come from other threads and go
through a queue drained by a writer thread started on first use, so a slow or dead client never
blocks the thread that publishes an event.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from typing import Any, Protocol

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.server import Server
from hvd_netconf.wire.session import (
    Close,
    HelloDone,
    Preamble,
    RpcReceived,
    Send,
    WireSession,
)

log = logging.getLogger(__name__)

RECV_SIZE = 256 * 1024
NOTIFY_BACKLOG = 10_000


class Channel(Protocol):
    """The part of socket.socket / paramiko.Channel a session needs."""

    def recv(self, n: int) -> bytes: ...

    def sendall(self, data: bytes) -> Any: ...

    def settimeout(self, t: float | None) -> None: ...

    def close(self) -> None: ...


class Connection:
    """The live session object the server lists in `server.sessions`."""

    def __init__(self, server: Server, channel: Channel, info: SessionInfo,
                 *, allow_preamble: bool = False, shutdown: Any = None) -> None:
        self.server = server
        self.channel = channel
        self.info = info
        self.wire = WireSession(info.id, server.capabilities(), server.settings.wire_limits,
                                allow_preamble=allow_preamble)
        self._shutdown = shutdown  # how to wake a blocked recv (socket.shutdown) if not close()
        self._write_lock = threading.Lock()
        self._ended = False
        self._close_requested = False
        self._notify_queue: queue.Queue[bytes | None] | None = None

    # -- API for operations and other components -----------------------------------------

    def request_close(self) -> None:
        """close-session: the reply is sent, then the session ends with reason `closed`."""
        self._close_requested = True

    def terminate(self, reason: str, killed_by: int | None = None) -> None:
        """End the session from any thread: release its locks now, then drop the transport."""
        if self._finish(reason, killed_by):
            self._close_channel()

    def send_notification(self, element: etree._Element) -> None:
        if self._ended or self.wire.base is None:
            return
        visible = self.server.nacm.notification_for(self.info, element)
        if visible is None:
            return
        data = self.wire.frame(etree.tostring(visible))
        with self._write_lock:
            if self._notify_queue is None:
                self._notify_queue = queue.Queue(NOTIFY_BACKLOG)
                threading.Thread(target=self._notify_writer, daemon=True,
                                 name=f"hvd-notify-{self.info.id}").start()
        try:
            self._notify_queue.put_nowait(data)
        except queue.Full:
            log.warning("session %d: notification backlog full, dropping the session",
                        self.info.id)
            self.terminate("other")

    # -- the session thread --------------------------------------------------------------

    def run(self) -> None:
        try:
            self._run()
        except (OSError, EOFError) as exc:
            log.debug("session %d: transport error: %s", self.info.id, exc)
            self._end("dropped")
        except Exception:
            log.exception("session %d: unexpected failure", self.info.id)
            self._end("other")
        finally:
            self._close_channel()

    def _run(self) -> None:
        settings = self.server.settings
        if not self.server.session_started(self):
            self._ended = True  # refused before it began: no hello, no session-end
            return
        self._write(self.wire.hello_bytes())
        # The hello timeout bounds the whole exchange, not each read: a peer trickling one
        # byte at a time must not keep a half-open session forever.
        deadline = time.monotonic() + settings.hello_timeout if settings.hello_timeout else None
        while not self._ended:
            try:
                if self.wire.base is None and deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError
                    self.channel.settimeout(left)
                data = self.channel.recv(RECV_SIZE)
            except TimeoutError:
                what = "hello" if self.wire.base is None else "idle"
                log.info("session %d: %s timeout", self.info.id, what)
                self._end("timeout")
                return
            if not data:
                self._end("dropped")
                return
            for event in self.wire.receive(data):
                if self._ended:
                    return
                if type(event) is RpcReceived:
                    reply = self.server.dispatch(self.info, event.rpc, files_after_reply=True)
                    try:
                        self._write(self.wire.frame(reply))
                    finally:
                        self.server.write_pending()
                    if self._close_requested:
                        self._end("closed")
                        return
                elif type(event) is Send:
                    if event.bad_rpc:
                        self.server.count_bad_rpc(self.info)
                    self._write(event.data)
                elif type(event) is HelloDone:
                    self.channel.settimeout(settings.idle_timeout or None)
                elif type(event) is Preamble:
                    if event.username != self.info.username:
                        log.warning("session %d: preamble names %r but the peer is %r",
                                    self.info.id, event.username, self.info.username)
                        self._end("other")
                        return
                elif type(event) is Close:
                    log.info("session %d closed: %s", self.info.id, event.detail)
                    self._end(event.reason)
                    return

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            self.channel.sendall(data)

    def _notify_writer(self) -> None:
        q = self._notify_queue
        assert q is not None
        while True:
            data = q.get()
            if data is None or self._ended:
                return
            self.server.count_notification(self.info)
            try:
                self._write(data)
            except OSError:
                self.terminate("dropped")
                return

    def _end(self, reason: str) -> None:
        self._finish(reason, None)

    def _finish(self, reason: str, killed_by: int | None) -> bool:
        with self.server.lock:
            if self._ended:
                return False
            self._ended = True
        self.wire.closed = True
        self.server.session_ended(self, reason, killed_by)
        if self._notify_queue is not None:
            with contextlib.suppress(queue.Full):
                self._notify_queue.put_nowait(None)
        return True

    def _close_channel(self) -> None:
        with contextlib.suppress(OSError):
            if self._shutdown is not None:
                self._shutdown()
        with contextlib.suppress(OSError):
            self.channel.close()
