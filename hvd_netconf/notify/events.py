"""RFC 6470 base notifications (module ietf-netconf-notifications) as lxml elements.

Build an event, then publish it on the bus (`server.notifications.publish(event)`):

    config_change(changed_by(ctx.session), "running",
                  [("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']", "merge")])
    confirmed_commit(changed_by(ctx.session), "start", timeout=600)   # start|extend: timeout
    confirmed_commit(SERVER, "timeout")                               # the server reverted
    session_start(info); session_end(info, "killed", killed_by=3)

`changed_by(info)` names a NETCONF session (username, session-id, source-host); SERVER stands
for changes hvd makes by itself. Edit targets are instance-identifiers whose prefixes are
those of hvd_netconf.namespaces.PREFIXES; the element declares the ones it uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.namespaces import NC_NOTIFICATIONS, PREFIXES, default_ns, qn

EDIT_OPERATIONS = ("merge", "replace", "create", "delete", "remove")
CONFIRM_EVENTS = ("start", "cancel", "timeout", "extend", "complete")
TERMINATION_REASONS = ("closed", "killed", "dropped", "timeout", "bad-hello", "other")


@dataclass(frozen=True)
class ChangedBy:
    """Who caused an event: a session, or the server itself (`server` is then True)."""

    username: str | None = None
    session_id: int | None = None
    source_host: str | None = None
    server: bool = False


SERVER = ChangedBy(server=True)


def changed_by(info: SessionInfo) -> ChangedBy:
    """The ChangedBy of a calls.SessionInfo (the calling session of an operation)."""
    return ChangedBy(info.username, info.id, info.source_host)


def _el(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, qn(NC_NOTIFICATIONS, name))
    if text is not None:
        child.text = text
    return child


def _root(name: str) -> etree._Element:
    return etree.Element(qn(NC_NOTIFICATIONS, name), nsmap=default_ns(NC_NOTIFICATIONS))


def _session_fields(parent: etree._Element, who: ChangedBy) -> None:
    """The common-session-parms grouping."""
    _el(parent, "username", who.username or "")
    _el(parent, "session-id", str(who.session_id if who.session_id is not None else 0))
    if who.source_host:
        _el(parent, "source-host", who.source_host)


def _changed_by(parent: etree._Element, who: ChangedBy) -> None:
    holder = _el(parent, "changed-by")
    if who.server:
        _el(holder, "server")
    else:
        _session_fields(holder, who)


_PREFIXED = re.compile(r"([A-Za-z_][\w.-]*):(?=[A-Za-z_])")
_XMLNS: dict[frozenset[str], str] = {}  # prefixes a target uses -> their xmlns declarations
_TEXT = {"\r": "&#13;"}  # lxml keeps a carriage return as a reference, the parser would not


def _declarations(target: str) -> str:
    """The xmlns attributes for the hvd prefixes an edit target uses (cached per prefix set)."""
    used = frozenset(_PREFIXED.findall(target))
    decl = _XMLNS.get(used)
    if decl is None:
        decl = _XMLNS[used] = "".join(f' xmlns:{p}="{PREFIXES[p]}"'
                                      for p in sorted(used) if p in PREFIXES)
    return decl


def config_change(who: ChangedBy, datastore: str,
                  edits: Iterable[tuple[str, str]]) -> etree._Element:
    """netconf-config-change: datastore running|startup; edits are (target, operation).

    A commit of thousands of entries has as many <edit>s: they are written as text and parsed
    in one go, which makes the same tree as building them node by node, several times faster.
    """
    if datastore not in ("running", "startup"):
        raise ValueError(f"netconf-config-change datastore must be running or startup, "
                         f"not {datastore!r}")
    parts = [f'<netconf-config-change xmlns="{NC_NOTIFICATIONS}"><datastore>{datastore}'
             "</datastore>"]
    empty = []  # an empty text parses as none; the node-by-node tree had ""
    for i, (target, operation) in enumerate(edits):
        if operation not in EDIT_OPERATIONS:
            raise ValueError(f"bad edit operation {operation!r}")
        if not target:
            empty.append(i)
        parts.append(f"<edit><target{_declarations(target)}>{escape(target, _TEXT)}</target>"
                     f"<operation>{operation}</operation></edit>")
    parts.append("</netconf-config-change>")
    try:
        ev = etree.fromstring("".join(parts).encode())
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"an edit target is not XML text: {exc}") from None
    for i in empty:
        ev[1 + i][0].text = ""
    _changed_by(ev, who)
    ev.insert(0, ev[-1])
    return ev


def session_start(info: SessionInfo) -> etree._Element:
    """netconf-session-start for a calls.SessionInfo."""
    ev = _root("netconf-session-start")
    _session_fields(ev, changed_by(info))
    return ev


def session_end(info: SessionInfo, reason: str, killed_by: int | None = None) -> etree._Element:
    """netconf-session-end; killed-by is only reported with termination-reason `killed`."""
    if reason not in TERMINATION_REASONS:
        raise ValueError(f"bad termination reason {reason!r}")
    ev = _root("netconf-session-end")
    _session_fields(ev, changed_by(info))
    if reason == "killed" and killed_by is not None:
        _el(ev, "killed-by", str(killed_by))
    _el(ev, "termination-reason", reason)
    return ev


def confirmed_commit(who: ChangedBy, confirm_event: str,
                     timeout: int | None = None) -> etree._Element:
    """netconf-confirmed-commit; the session fields are left out for a server `timeout`.

    `timeout` (seconds) belongs to the start and extend events only.
    """
    if confirm_event not in CONFIRM_EVENTS:
        raise ValueError(f"bad confirm-event {confirm_event!r}")
    ev = _root("netconf-confirmed-commit")
    if not who.server:
        _session_fields(ev, who)
    _el(ev, "confirm-event", confirm_event)
    if timeout is not None and confirm_event in ("start", "extend"):
        _el(ev, "timeout", str(timeout))
    return ev
