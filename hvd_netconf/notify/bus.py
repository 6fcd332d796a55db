"""The notification bus: publish events once, deliver them to every subscribed session.

    bus = NotificationBus()
    bus.publish(event_element)                 # any thread; event_time defaults to now
    bus.subscribe(session, filter=spec, start_time=t0, stop_time=t1)   # RFC 5277 semantics
    bus.unsubscribe(session_id)                # the session ended

Delivery goes through `session.send_notification(element)`, which queues and never blocks,
so publishing under the bus lock keeps replay and live events in order for each subscriber.
The replay log is bounded (`replay_size` events, oldest dropped first).
"""

from __future__ import annotations

import copy
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.filter import Filter, project, selected_nodes
from hvd_netconf.namespaces import NETMOD_NOTIF, NOTIF, default_ns, qn

log = logging.getLogger(__name__)

NETCONF_STREAM = "NETCONF"
_NOTIFICATION = qn(NOTIF, "notification")
_EVENT_TIME = qn(NOTIF, "eventTime")


class Subscriber(Protocol):
    """What the bus needs from a session: its id and a non-blocking notification sender."""

    @property
    def info(self) -> SessionInfo: ...

    def send_notification(self, element: etree._Element) -> None: ...


def format_time(when: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the form eventTime and replay times use."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """yang:date-and-time -> aware datetime; ValueError if it is not one."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"date-and-time {text!r} has no time zone")
    return value


@dataclass(frozen=True)
class Stream:
    name: str
    description: str
    replay_support: bool
    replay_log_creation_time: datetime


class _Event:
    """A logged event, put in its envelope when first needed: with nobody subscribed, most
    events are never rendered at all."""

    def __init__(self, time: datetime, make: Callable[[], etree._Element]) -> None:
        self.time = time
        self._make: Callable[[], etree._Element] | None = make
        self._envelope: etree._Element | None = None

    @property
    def envelope(self) -> etree._Element:
        if self._envelope is None:
            assert self._make is not None
            self._envelope = envelope(self._make(), self.time, copy_event=False)
            self._make = None
        return self._envelope


@dataclass
class Subscription:
    session: Subscriber
    stream: str
    filter: Filter | None
    start_time: datetime | None
    stop_time: datetime | None
    timer: threading.Timer | None = field(default=None, repr=False)


def envelope(event: etree._Element, event_time: datetime, *,
             copy_event: bool = True) -> etree._Element:
    """<notification><eventTime/>event</notification>; the event is copied unless told it
    may be moved."""
    env = etree.Element(_NOTIFICATION, nsmap=default_ns(NOTIF))
    etree.SubElement(env, _EVENT_TIME).text = format_time(event_time)
    env.append(copy.deepcopy(event) if copy_event else event)
    return env


def _marker(name: str, when: datetime) -> etree._Element:
    """replayComplete / notificationComplete (RFC 5277 §2.2.1, §3.5)."""
    return envelope(etree.Element(qn(NETMOD_NOTIF, name), nsmap=default_ns(NETMOD_NOTIF)), when)


class NotificationBus:
    def __init__(self, replay_size: int = 1000,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._log: deque[_Event] = deque(maxlen=replay_size)
        self._subs: dict[int, Subscription] = {}
        self._mutex = threading.RLock()
        self.created = clock()
        self.listeners: list[Callable[[], None]] = []  # told after each publish (yang-push)
        self.streams = {NETCONF_STREAM: Stream(
            NETCONF_STREAM, "default NETCONF event stream (RFC 5277, RFC 6470 events)",
            True, self.created)}

    def now(self) -> datetime:
        return self._clock()

    def publish(self, event: etree._Element | Callable[[], etree._Element],
                event_time: datetime | None = None) -> None:
        """Log the event and deliver it to every subscriber whose filter selects it.

        `event` may be a function that builds it: it is called once, when a subscriber or
        a replay first needs the event.
        """
        when = event_time or self._clock()
        if isinstance(event, etree._Element):
            element = copy.deepcopy(event)
            ev = _Event(when, lambda: element)
        else:
            ev = _Event(when, event)
        with self._mutex:
            self._log.append(ev)
            for sub in list(self._subs.values()):
                if sub.start_time is not None and when < sub.start_time:
                    continue
                if sub.stop_time is not None and when > sub.stop_time:
                    continue
                self._deliver(sub, ev.envelope)
        for tell in self.listeners:
            tell()

    def subscribe(self, session: Subscriber, *, stream: str = NETCONF_STREAM,
                  filter: Filter | None = None, start_time: datetime | None = None,
                  stop_time: datetime | None = None) -> Subscription:
        """Register the session (checked by the caller: RFC 5277 errors are the op's job)."""
        sub = Subscription(session, stream, filter, start_time, stop_time)
        sid = session.info.id
        with self._mutex:
            if sid in self._subs:
                raise ValueError(f"session {sid} already has a subscription")
            self._subs[sid] = sub
            if start_time is not None:
                for ev in list(self._log):
                    if ev.time >= start_time and (stop_time is None or ev.time <= stop_time):
                        self._deliver(sub, ev.envelope)
                session.send_notification(_marker("replayComplete", self._clock()))
            if stop_time is not None:
                delay = (stop_time - self._clock()).total_seconds()
                if delay <= 0:
                    self._complete(sid)
                else:
                    sub.timer = threading.Timer(delay, self._complete, (sid,))
                    sub.timer.daemon = True
                    sub.timer.start()
        return sub

    def subscription(self, session_id: int) -> Subscription | None:
        return self._subs.get(session_id)

    def unsubscribe(self, session_id: int) -> None:
        with self._mutex:
            sub = self._subs.pop(session_id, None)
        if sub is not None and sub.timer is not None:
            sub.timer.cancel()

    def _complete(self, session_id: int) -> None:
        """stopTime reached: notificationComplete, then the subscription is over."""
        with self._mutex:
            sub = self._subs.pop(session_id, None)
            if sub is not None:
                sub.session.send_notification(_marker("notificationComplete", self._clock()))

    def _deliver(self, sub: Subscription, env: etree._Element) -> None:
        out = env
        if sub.filter is not None:
            selected = selected_nodes(sub.filter, env)
            if not selected:
                return
            out = etree.Element(_NOTIFICATION, nsmap=default_ns(NOTIF))
            out.append(copy.deepcopy(env[0]))
            project(env, [s for s in selected if s.tag != _EVENT_TIME], out)
            if len(out) == 1:
                return
        try:
            sub.session.send_notification(out)
        except Exception:
            log.exception("notification delivery to session %s failed", sub.session.info.id)
