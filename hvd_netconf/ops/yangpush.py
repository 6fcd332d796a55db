"""The RPCs of subscribed notifications (RFC 8639) and YANG-Push (RFC 8641) over NETCONF
(RFC 8640): their input checked here, the subscriptions kept by notify/push.py."""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf.errors import InvalidValue, MissingElement, OperationFailed
from hvd_netconf.namespaces import default_ns, qn
from hvd_netconf.notify.push import SN, YP, Subscriptions
from hvd_netconf.ops.registry import OpContext


def _subs(ctx: OpContext) -> Subscriptions:
    subs = ctx.server.subscriptions
    if subs is None:
        raise OperationFailed("subscribed notifications are not enabled on this server")
    return subs


def _int(op: etree._Element, path: str, what: str) -> int | None:
    text = op.findtext(path)
    if text is None:
        return None
    if not text.strip().isdigit():
        raise InvalidValue(f"{what} must be a whole number, not {text!r}")
    return int(text)


def _selection(op: etree._Element) -> tuple[bool, etree._Element | None]:
    """(given, the subtree filter's content): datastore-subtree-filter's children wrapped in
    one element a <get> takes as its filter's content (None: select everything)."""
    flt = op.find(qn(YP, "datastore-subtree-filter"))
    if op.find(qn(YP, "datastore-xpath-filter")) is not None:
        raise InvalidValue("hvd takes datastore-subtree-filter; datastore-xpath-filter is not "
                           "supported", app_tag="ietf-yang-push:unsupported-filter")
    if flt is None:
        return False, None
    holder = etree.Element("selection")
    holder.extend(copy.deepcopy(c) for c in flt)
    return True, holder


def establish_subscription(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    subs = _subs(ctx)
    if op.find(qn(SN, "stream")) is not None:
        raise InvalidValue("event streams are subscribed with create-subscription (RFC 5277); "
                           "establish-subscription here takes a datastore",
                           app_tag="ietf-subscribed-notifications:stream-unavailable")
    store = (op.findtext(qn(YP, "datastore")) or "").strip()
    if not store:
        raise MissingElement("a datastore to subscribe to (ds:operational or ds:running)",
                             info=[("bad-element", "datastore")])
    name = store.rpartition(":")[2]
    if name not in ("operational", "running"):
        raise InvalidValue(f"datastore {store}: hvd pushes operational or running",
                           app_tag="ietf-yang-push:datastore-not-subscribable")
    _, selection = _selection(op)
    periodic, on_change = op.find(qn(YP, "periodic")), op.find(qn(YP, "on-change"))
    if (periodic is None) == (on_change is None):
        raise MissingElement("periodic or on-change, one of them")
    live = ctx.server.sessions.get(ctx.session.id)
    if live is None:
        raise OperationFailed("the calling session is gone")
    if periodic is not None:
        period = _int(periodic, qn(YP, "period"), "period")
        if period is None:
            raise MissingElement("periodic needs a period (centiseconds)")
        sid = subs.establish(live, name, selection, period, 0, False)
    else:
        assert on_change is not None  # one of the two, checked above
        sync = (on_change.findtext(qn(YP, "sync-on-start")) or "true").strip() != "false"
        damp = _int(on_change, qn(YP, "dampening-period"), "dampening-period") or 0
        sid = subs.establish(live, name, selection, None, damp, sync)
    out = etree.Element(qn(SN, "id"), nsmap=default_ns(SN))
    out.text = str(sid)
    return [out]


def modify_subscription(ctx: OpContext, op: etree._Element) -> None:
    sid = _int(op, qn(SN, "id"), "id")
    if sid is None:
        raise MissingElement("the id of the subscription to modify")
    periodic = op.find(qn(YP, "periodic"))
    period = _int(periodic, qn(YP, "period"), "period") if periodic is not None else None
    given, selection = _selection(op)
    _subs(ctx).modify(ctx.session, sid, period, selection if given else None)


def delete_subscription(ctx: OpContext, op: etree._Element) -> None:
    sid = _int(op, qn(SN, "id"), "id")
    if sid is None:
        raise MissingElement("the id of the subscription to delete")
    _subs(ctx).delete(ctx.session, sid)


def kill_subscription(ctx: OpContext, op: etree._Element) -> None:
    sid = _int(op, qn(SN, "id"), "id")
    if sid is None:
        raise MissingElement("the id of the subscription to kill")
    _subs(ctx).kill(sid)


def resync_subscription(ctx: OpContext, op: etree._Element) -> None:
    sid = _int(op, qn(YP, "id"), "id")
    if sid is None:
        raise MissingElement("the id of the subscription to resynchronise")
    _subs(ctx).resync(ctx.session, sid)
