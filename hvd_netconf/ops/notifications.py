"""RFC 5277 <create-subscription> and the /netconf/streams state.

The bus (hvd_netconf.notify) does delivery and replay; this module checks the request.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.errors import BadElement, InUse, InvalidValue, MissingElement, OperationFailed
from hvd_netconf.filter import parse_filter
from hvd_netconf.namespaces import BASE, CAP_PREFIX, NETMOD_NOTIF, NOTIF, qn
from hvd_netconf.notify import NETCONF_STREAM, format_time, parse_time
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.state import child, leaf

CAP_NOTIFICATION = CAP_PREFIX + "notification:1.0"
CAP_INTERLEAVE = CAP_PREFIX + "interleave:1.0"


def _time(op: etree._Element, name: str) -> Any:
    text = op.findtext(qn(NOTIF, name))
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise InvalidValue(f"{name} {text!r} is not a date-and-time",
                           info=[("bad-element", name)]) from None


def create_subscription(ctx: OpContext, op: etree._Element) -> Reply:
    bus = ctx.server.notifications
    if bus is None:
        raise OperationFailed("notifications are not enabled on this server")
    stream = (op.findtext(qn(NOTIF, "stream")) or NETCONF_STREAM).strip()
    if stream not in bus.streams:
        raise InvalidValue(f"no event stream {stream!r}", info=[("bad-element", "stream")])
    start, stop = _time(op, "startTime"), _time(op, "stopTime")
    if stop is not None and start is None:
        raise MissingElement("stopTime needs a startTime", info=[("bad-element", "startTime")])
    now = bus.now()
    if start is not None and start > now:
        raise BadElement("startTime is in the future", info=[("bad-element", "startTime")])
    if start is not None and stop is not None and stop < start:
        raise BadElement("stopTime is earlier than startTime",
                         info=[("bad-element", "stopTime")])
    if start is not None and not bus.streams[stream].replay_support:
        raise OperationFailed(f"stream {stream!r} does not support replay")
    found = op.find(qn(NOTIF, "filter"))
    spec = parse_filter(found if found is not None else op.find(qn(BASE, "filter")))
    live = ctx.server.sessions.get(ctx.session.id)
    if live is None:
        raise OperationFailed("the calling session is gone")
    if bus.subscription(ctx.session.id) is not None:
        raise InUse("this session already has a subscription", error_type="protocol")
    bus.subscribe(live, stream=stream, filter=spec, start_time=start, stop_time=stop)
    return None


def streams(server: ServerView, data: etree._Element) -> None:
    bus = server.notifications
    if bus is None:
        return
    holder = child(child(data, NETMOD_NOTIF, "netconf"), NETMOD_NOTIF, "streams")
    for s in bus.streams.values():
        el = etree.SubElement(holder, qn(NETMOD_NOTIF, "stream"))
        leaf(el, "name", s.name)
        leaf(el, "description", s.description)
        leaf(el, "replaySupport", s.replay_support)
        leaf(el, "replayLogCreationTime", format_time(s.replay_log_creation_time))
