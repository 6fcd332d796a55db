"""Event streams as Server-Sent Events (RFC 8040 §6).

`GET {+restconf}/streams/NAME/xml` or `.../json` is a subscriber of the server like a NETCONF
session after create-subscription: it is registered in the session table (so admission
limits, kill-session and session-end events apply), it subscribes by dispatching the very
create-subscription rpc (stream, filter, start-time and stop-time as startTime/stopTime),
and the bus delivers through `send_notification`, where NACM decides what this user may
see. Deliveries cross to the HTTP event loop through a bounded queue: a reader too slow to
keep up is dropped, never waited for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.errors import InvalidValue
from hvd_netconf.namespaces import NETMOD_NOTIF, NOTIF, default_ns
from hvd_netconf.restconf.jsonenc import JsonCodec
from hvd_netconf.server import Server

log = logging.getLogger(__name__)

BACKLOG = 10_000
COMPLETE = f"{{{NETMOD_NOTIF}}}notificationComplete"
QUERY = {"filter": "filter", "start-time": "startTime", "stop-time": "stopTime"}


class EventSession:
    """One SSE reader as the server's live session; its queue is drained by the handler."""

    def __init__(self, server: Server, info: SessionInfo, loop: asyncio.AbstractEventLoop,
                 queue: asyncio.Queue[bytes | None]) -> None:
        self.server = server
        self.info = info
        self._loop = loop
        self._queue = queue
        self._pending = 0
        self._mutex = threading.Lock()
        self._ended = False

    def send_notification(self, element: etree._Element) -> None:
        if self._ended:
            return
        visible = self.server.nacm.notification_for(self.info, element)
        if visible is None:
            return
        with self._mutex:
            self._pending += 1
            full = self._pending > BACKLOG
        if full:
            log.warning("restconf stream %d: backlog full, dropping the reader", self.info.id)
            self.terminate("other")
            return
        self.server.count_notification(self.info)
        data = etree.tostring(visible)
        self._loop.call_soon_threadsafe(self._queue.put_nowait, data)
        if element.find(COMPLETE) is not None:  # stop-time reached: the stream ends
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def taken(self) -> None:
        with self._mutex:
            self._pending -= 1

    def terminate(self, reason: str, killed_by: int | None = None) -> None:
        if self.finish(reason, killed_by):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def request_close(self) -> None:
        """close-session cannot reach a stream (it has no rpcs); nothing to do."""

    def finish(self, reason: str, killed_by: int | None = None) -> bool:
        """End the session once; True for the call that ended it."""
        with self._mutex:
            if self._ended:
                return False
            self._ended = True
        self.server.session_ended(self, reason, killed_by)
        return True


def subscription(stream: str, query: dict[str, str], modules: dict[str, str]
                 ) -> etree._Element:
    """The create-subscription rpc for a stream request's query parameters; a filter's XPath
    names modules as its prefixes (RFC 8040 §4.8.4)."""
    op = etree.Element(f"{{{NOTIF}}}create-subscription", nsmap=default_ns(NOTIF))
    etree.SubElement(op, f"{{{NOTIF}}}stream").text = stream
    for param, value in query.items():
        if param not in QUERY:
            raise InvalidValue(f"query parameter {param!r} is not supported on a stream")
        if param == "filter":
            flt = etree.SubElement(op, f"{{{NOTIF}}}filter", nsmap=modules)
            flt.set("type", "xpath")
            flt.set("select", value)
        else:
            etree.SubElement(op, f"{{{NOTIF}}}{QUERY[param]}").text = value
    # RFC 5277 wants filter before startTime; keep the schema's order.
    order = ["stream", "filter", "startTime", "stopTime"]
    op[:] = sorted(op, key=lambda el: order.index(etree.QName(el).localname))
    return op


def event_text(data: bytes, as_json: bool, codec: JsonCodec) -> bytes:
    """One SSE event: each line of the notification after `data: ` (RFC 8040 §6.4)."""
    if as_json:
        env = etree.fromstring(data)
        body: dict[str, Any] = {"eventTime": env.findtext(f"{{{NOTIF}}}eventTime")}
        events = [c for c in env if isinstance(c.tag, str)
                  and c.tag != f"{{{NOTIF}}}eventTime"]
        body.update(codec.to_json(events, None, None, codec.schema.notifications))
        text = json.dumps({"ietf-restconf:notification": body}, indent=2)
    else:
        text = data.decode()
    return "".join(f"data: {line}\n" for line in text.splitlines()).encode() + b"\n"
