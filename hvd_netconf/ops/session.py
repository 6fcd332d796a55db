"""close-session and kill-session (RFC 6241 §7.8, §7.9)."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.errors import InvalidValue, MissingElement, OperationFailed
from hvd_netconf.namespaces import BASE, qn
from hvd_netconf.ops.registry import OpContext

_SESSION_ID = qn(BASE, "session-id")
_UINT32_MAX = 4294967295


def close_session(ctx: OpContext, op: etree._Element) -> Reply:
    session = ctx.server.sessions.get(ctx.session.id)
    if session is None:
        raise OperationFailed("the session is already ending")
    session.request_close()
    return None


def kill_session(ctx: OpContext, op: etree._Element) -> Reply:
    el = op.find(_SESSION_ID)
    if el is None:
        raise MissingElement("kill-session needs a session-id",
                             info=[("bad-element", "session-id")])
    text = (el.text or "").strip()
    if not text.isdigit() or not 1 <= int(text) <= _UINT32_MAX:
        raise InvalidValue(f"session-id {text!r} is not a number from 1 to {_UINT32_MAX}",
                           info=[("bad-element", "session-id")])
    target_id = int(text)
    if target_id == ctx.session.id:
        raise InvalidValue("a session cannot kill itself; use close-session",
                           info=[("bad-element", "session-id")])
    target = ctx.server.sessions.get(target_id)
    if target is None:
        raise InvalidValue(f"there is no session {target_id}",
                           info=[("bad-element", "session-id")])
    target.terminate("killed", killed_by=ctx.session.id)
    return None
