"""Subscribed notifications (RFC 8639) of datastore updates (YANG-Push, RFC 8641) over NETCONF
(RFC 8640): dynamic subscriptions a session establishes, modifies and deletes, an operator
kills, and that end with the session.

A periodic subscription sends a push-update with the selected data every `period`
centiseconds. An on-change one sends the data once at the start (sync-on-start) and then a
push-change-update whenever the selection changes: it is read again after every event the
notification bus publishes (a VM's state change, a commit) and at least every dampening
period (one second when none is asked), and a change is a YANG Patch (RFC 8072) that
replaces each top-level node of the selection that differs. Every read is a <get> as the
subscriber (the `read` the daemon gives), so NACM decides what a push holds, as for a <get>.
"""

from __future__ import annotations

import copy
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.errors import InvalidValue, RpcError
from hvd_netconf.namespaces import YANG_PATCH as PATCH
from hvd_netconf.namespaces import default_ns, qn
from hvd_netconf.notify.bus import Subscriber, envelope

log = logging.getLogger(__name__)

SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"
MIN_PERIOD = 10  # centiseconds: the shortest period hvd keeps (0.1 s)
ON_CHANGE_POLL = 100  # centiseconds between two reads of an on-change selection at most

# read(session, subtree filter (None: everything), datastore) -> the <data> a <get> returns
Reader = Callable[[SessionInfo, etree._Element | None, str], etree._Element]


class NoSuchSubscription(InvalidValue):
    """RFC 8639 §2.4.3-5: the id names no subscription (of this session)."""

    def __init__(self, sid: int) -> None:
        super().__init__(f"no subscription {sid}",
                         app_tag="ietf-subscribed-notifications:no-such-subscription")


@dataclass(eq=False)
class Subscription:
    id: int
    session: Subscriber
    datastore: str  # ds:operational or ds:running...
    selection: etree._Element | None  # the subtree filter's content (None: everything)
    period: int | None  # centiseconds; None: on-change
    dampening: int = 0
    last: dict[str, bytes] = field(default_factory=dict)  # on-change: each top node, as sent
    wake: threading.Event = field(default_factory=threading.Event)
    ended: bool = False


class Subscriptions:
    """The live dynamic subscriptions: one thread each, woken by its period or by events."""

    def __init__(self, read: Reader, modules: dict[str, str]) -> None:
        self.read = read
        self.modules = modules  # namespace -> module name, for a YANG Patch's targets
        self._subs: dict[int, Subscription] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def establish(self, session: Subscriber, datastore: str,
                  selection: etree._Element | None, period: int | None,
                  dampening: int, sync_on_start: bool) -> int:
        if period is not None and period < MIN_PERIOD:
            raise InvalidValue(f"period {period} centiseconds is below hvd's {MIN_PERIOD}",
                               app_tag="ietf-yang-push:period-unsupported")
        self.read(session.info, selection, datastore)  # refused now, not in the thread
        with self._lock:
            sub = Subscription(next(self._ids), session, datastore, selection, period,
                               dampening)
            self._subs[sub.id] = sub
        if period is None and not sync_on_start:
            sub.last = self._tops(sub)
        threading.Thread(target=self._run, args=(sub, period is None and sync_on_start),
                         name=f"yang-push-{sub.id}", daemon=True).start()
        return sub.id

    def modify(self, info: SessionInfo, sid: int, period: int | None,
               selection: etree._Element | None) -> None:
        sub = self._own(info, sid)
        if period is not None:
            if sub.period is None:
                raise InvalidValue(f"subscription {sid} is on-change: it has no period",
                                   app_tag="ietf-yang-push:period-unsupported")
            if period < MIN_PERIOD:
                raise InvalidValue(f"period {period} centiseconds is below hvd's {MIN_PERIOD}",
                                   app_tag="ietf-yang-push:period-unsupported")
            sub.period = period
        if selection is not None:
            self.read(info, selection, sub.datastore)
            sub.selection = selection
        sub.session.send_notification(self._note("subscription-modified", sub, SN, period=(
            sub.period, YP)))
        sub.wake.set()

    def delete(self, info: SessionInfo, sid: int) -> None:
        self._end(self._own(info, sid), None)

    def kill(self, sid: int) -> None:
        """An operator ends someone's subscription: its receiver is told."""
        with self._lock:
            sub = self._subs.get(sid)
        if sub is None:
            raise NoSuchSubscription(sid)
        self._end(sub, "ietf-subscribed-notifications:no-such-subscription")

    def session_ended(self, info: SessionInfo) -> None:
        with self._lock:
            mine = [s for s in self._subs.values() if s.session.info.id == info.id]
        for sub in mine:
            self._end(sub, None)

    def changed(self) -> None:
        """Something was published: on-change subscriptions read their selection again."""
        with self._lock:
            subs = [s for s in self._subs.values() if s.period is None]
        for sub in subs:
            sub.wake.set()

    def resync(self, info: SessionInfo, sid: int) -> None:
        """resync-subscription (RFC 8641 §4.4.4): the whole selection again, now."""
        self._push_update(self._own(info, sid))

    def _own(self, info: SessionInfo, sid: int) -> Subscription:
        with self._lock:
            sub = self._subs.get(sid)
        if sub is None or sub.session.info.id != info.id:
            raise NoSuchSubscription(sid)  # another session's is not this one's to change
        return sub

    def _end(self, sub: Subscription, terminated: str | None) -> None:
        with self._lock:
            self._subs.pop(sub.id, None)
        sub.ended = True
        sub.wake.set()
        if terminated is not None:  # the subscriber did not ask: it is told (RFC 8639 §2.7)
            note = self._note("subscription-terminated", sub, SN)
            etree.SubElement(note[-1], qn(SN, "reason")).text = terminated
            sub.session.send_notification(note)

    # -- pushing ---------------------------------------------------------------------------

    def _run(self, sub: Subscription, sync: bool) -> None:
        try:
            if sync:
                self._push_update(sub)
            while not sub.ended:
                periodic = sub.period is not None
                wait = sub.period if sub.period is not None else max(sub.dampening,
                                                                      ON_CHANGE_POLL)
                woken = sub.wake.wait(wait / 100)
                sub.wake.clear()
                if sub.ended:
                    return
                if not periodic:
                    self._push_change(sub)
                elif not woken:  # a wake of a periodic one (modify) starts its period again
                    self._push_update(sub)
        except RpcError as e:  # the reader refused (the user's rights changed): it ends
            log.info("subscription %s ends: %s", sub.id, e.message)
            self._end(sub, "ietf-subscribed-notifications:filter-unavailable")
        except Exception:  # the thread's last resort: the subscription ends, said so
            log.exception("subscription %s failed", sub.id)
            self._end(sub, "ietf-subscribed-notifications:suspension-timeout")

    def _data(self, sub: Subscription) -> etree._Element:
        return self.read(sub.session.info, sub.selection, sub.datastore)

    def _tops(self, sub: Subscription, data: etree._Element | None = None) -> dict[str, bytes]:
        data = self._data(sub) if data is None else data
        return {c.tag: etree.tostring(c, method="c14n") for c in data}

    def _push_update(self, sub: Subscription) -> None:
        data = self._data(sub)
        sub.last = self._tops(sub, data)
        note = self._note("push-update", sub, YP)
        contents = etree.SubElement(note[-1], qn(YP, "datastore-contents"))
        contents.extend(copy.deepcopy(c) for c in data)
        sub.session.send_notification(note)

    def _push_change(self, sub: Subscription) -> None:
        data = self._data(sub)
        now = self._tops(sub, data)
        if now == sub.last:
            return
        by_tag = {c.tag: c for c in data}
        note = self._note("push-change-update", sub, YP)
        changes = etree.SubElement(note[-1], qn(YP, "datastore-changes"))
        patch = etree.SubElement(changes, qn(PATCH, "yang-patch"), nsmap=default_ns(PATCH))
        etree.SubElement(patch, qn(PATCH, "patch-id")).text = f"s{sub.id}-{next(self._ids)}"
        for n, tag in enumerate(sorted(set(now) | set(sub.last)), start=1):
            if now.get(tag) == sub.last.get(tag):
                continue
            edit = etree.SubElement(patch, qn(PATCH, "edit"))
            etree.SubElement(edit, qn(PATCH, "edit-id")).text = f"edit{n}"
            ns, _, name = tag[1:].partition("}")
            etree.SubElement(edit, qn(PATCH, "operation")).text = \
                "replace" if tag in now else "delete"
            etree.SubElement(edit, qn(PATCH, "target")).text = \
                f"/{self.modules.get(ns, ns)}:{name}"
            if tag in now:
                etree.SubElement(edit, qn(PATCH, "value")).append(copy.deepcopy(by_tag[tag]))
        sub.last = now
        sub.session.send_notification(note)

    @staticmethod
    def _note(name: str, sub: Subscription, ns: str,
              **more: tuple[object, str]) -> etree._Element:
        """The notification's envelope with its id (and more leaves, name -> (value, ns))."""
        body = etree.Element(qn(ns, name), nsmap=default_ns(ns))
        etree.SubElement(body, qn(ns, "id")).text = str(sub.id)
        for leaf, (value, leaf_ns) in more.items():
            if value is not None:
                etree.SubElement(body, qn(leaf_ns, leaf)).text = str(value)
        return envelope(body, datetime.now(UTC), copy_event=False)
