"""NACM for one server: the live rule set, the recovery rule, counters and the checks that
Server.dispatch, the transports and the edit operations call.

The recovery session is uid 0 over the Unix socket: the kernel vouches for that identity, so
root can always repair a configuration that locks everyone out. An SSH login named `root` is
just a name in hvd's user database and gets no bypass.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterable
from typing import Protocol

from lxml import etree

from hvd_netconf.calls import RawXml, Reply, SessionInfo
from hvd_netconf.errors import AccessDenied, InvalidValue
from hvd_netconf.keys import KINDS
from hvd_netconf.nacm import content
from hvd_netconf.nacm.evaluate import Evaluator, Subject
from hvd_netconf.nacm.model import NacmConfig, hvd_default, parse_config, to_xml
from hvd_netconf.nacm.modules import Modules
from hvd_netconf.namespaces import (
    BASE,
    MONITORING,
    NACM,
    NETMOD_NOTIF,
    NMDA,
    NOTIF,
    YANG_LIBRARY,
    qn,
)
from hvd_netconf.schema.nodes import Schema

log = logging.getLogger(__name__)

UNIX_TRANSPORT = "hvd-unix"
READ_OPERATIONS = frozenset({(BASE, "get"), (BASE, "get-config"), (NMDA, "get-data")})
GET_SCHEMA = (MONITORING, "get-schema")
# Always delivered to a subscriber (RFC 8341 §3.4.6).
ALWAYS_DELIVERED = frozenset({qn(NETMOD_NOTIF, "replayComplete"),
                              qn(NETMOD_NOTIF, "notificationComplete")})
_NACM_BYTES = NACM.encode()
_SCHEMA = qn(MONITORING, "schema")
_LIBRARY = (qn(YANG_LIBRARY, "module"), qn(YANG_LIBRARY, "import-only-module"))
_DENIED = "access denied"


def is_recovery(info: SessionInfo) -> bool:
    return info.transport == UNIX_TRANSPORT and info.uid == 0


def subject_of(info: SessionInfo) -> Subject:
    return Subject(info.username, frozenset(info.groups), is_recovery(info))


class Nacm:
    """Thread-safe: the rule set is swapped whole, evaluations read one consistent set."""

    def __init__(self, admin_group: str = "wheel", schema: Schema | None = None) -> None:
        self.admin_group = admin_group
        self.modules = Modules(schema)
        self.configured: NacmConfig | None = None
        self.evaluator = Evaluator(hvd_default(admin_group), self.modules)
        self.denied_operations = 0
        self.denied_data_writes = 0
        self.denied_notifications = 0
        self._mutex = threading.Lock()

    # -- configuration --------------------------------------------------------------------

    def attach_schema(self, schema: Schema | None) -> None:
        self.modules = Modules(schema)
        self.evaluator = Evaluator(self.evaluator.config, self.modules)

    def load(self, nacm_el: etree._Element | None) -> None:
        """Use a configured `<nacm>` (from the running datastore); None restores the hvd
        default. Raises InvalidValue and keeps the old rules if the element is invalid."""
        if nacm_el is None:
            cfg, configured = hvd_default(self.admin_group), None
        else:
            cfg = configured = parse_config(nacm_el, self.modules)
        self.evaluator = Evaluator(cfg, self.modules)
        self.configured = configured

    @property
    def config(self) -> NacmConfig:
        return self.evaluator.config

    def counters(self) -> dict[str, int]:
        return {"denied-operations": self.denied_operations,
                "denied-data-writes": self.denied_data_writes,
                "denied-notifications": self.denied_notifications}

    def _count(self, name: str) -> None:
        with self._mutex:
            setattr(self, name, getattr(self, name) + 1)

    # -- protocol operations ---------------------------------------------------------------

    def authorize_rpc(self, info: SessionInfo, ns: str, name: str, op: etree._Element) -> None:
        """Raise access-denied (error-type protocol, no detail) unless the user may run it."""
        subject = subject_of(info)
        ev = self.evaluator
        if not ev.rpc_allowed(subject, ns, name):
            self._count("denied_operations")
            log.info("nacm: %s (session %d) denied %s", info.username, info.id, name)
            raise AccessDenied(_DENIED, error_type="protocol")
        if (ns, name) == GET_SCHEMA:
            ident = (op.findtext(qn(MONITORING, "identifier")) or "").strip()
            if ident and not self.module_readable(subject, ident):
                raise InvalidValue(f"no schema {ident!r}", info=[("bad-element", "identifier")])

    def module_readable(self, subject: Subject, module: str) -> bool:
        """A module is unreadable when a rule for the whole module (no path, or path `/`)
        denies read; only the rules that name no particular node decide this."""
        ev = self.evaluator
        if not ev.config.enable or subject.recovery:
            return True
        for rule in ev.rules(subject):
            if "read" not in rule.ops or rule.module not in ("*", module):
                continue
            if rule.kind == "any" or (rule.kind == "data" and rule.path == ()):
                return rule.action == "permit"
        return ev.config.read_default == "permit"

    # -- reads ----------------------------------------------------------------------------

    def filter_reply(self, info: SessionInfo, ns: str, name: str, result: Reply) -> Reply:
        """Silently drop what the user may not read from a get/get-config/get-data reply."""
        if (ns, name) not in READ_OPERATIONS or result is None:
            return result
        subject = subject_of(info)
        ev = self.evaluator
        if not ev.config.enable or subject.recovery:
            return result
        if isinstance(result, RawXml):
            if not ev.may_hide(subject) and _NACM_BYTES not in result.data:
                return result
            result = etree.fromstring(result.data, _TRUSTED)
        for el in [result] if isinstance(result, etree._Element) else result:
            ev.filter_read(subject, el)
            self._hide_modules(subject, el)
        return result

    def _hide_modules(self, subject: Subject, data: etree._Element) -> None:
        """A module the user may not read is not listed either: not in /netconf-state/schemas
        (RFC 6022), not in /yang-library (RFC 8525), as get-schema does not serve it."""
        listed = [(s, s.findtext(qn(MONITORING, "identifier"))) for s in data.iter(_SCHEMA)]
        listed += [(m, m.findtext(qn(YANG_LIBRARY, "name"))) for m in data.iter(*_LIBRARY)]
        for entry, module in listed:
            if module and not self.module_readable(subject, module.strip()):
                parent = entry.getparent()
                if parent is not None:
                    parent.remove(entry)

    def readable_copy(self, info: SessionInfo, entry: etree._Element | None,
                      root: etree._Element | None = None) -> etree._Element | None:
        """A copy of an entry without what the user may not read (None: nothing of it), for
        replies that show entries outside get/get-config (compare)."""
        if entry is None or not self.applies(info):
            return entry
        wrapper = etree.Element("entry")
        container = _container(entry, None, root)
        holder = etree.SubElement(wrapper, container[0].tag) if container else wrapper
        holder.append(copy.deepcopy(entry))
        self.evaluator.filter_read(subject_of(info), wrapper)
        kept: etree._Element | None = holder
        if container:
            kept = wrapper[0] if len(wrapper) else None
        return kept[0] if kept is not None and len(kept) else None

    def notification_for(self, info: SessionInfo,
                         notification: etree._Element) -> etree._Element | None:
        """A `<notification>` envelope as this session may see it, or None: not sent. An
        event type the user may not read is counted (denied-notifications) and dropped; so
        is an event about data the user may not read, and config-change edits of such data
        are left out (RFC 8341 §3.4.6)."""
        events = [c for c in notification if isinstance(c.tag, str)
                  and c.tag != qn(NOTIF, "eventTime")]
        if not events or events[0].tag in ALWAYS_DELIVERED:
            return notification
        ns, _, name = events[0].tag[1:].partition("}")
        subject = subject_of(info)
        ev = self.evaluator
        if not ev.notification_allowed(subject, ns, name):
            self._count("denied_notifications")
            return None
        if not self.applies(info):
            return notification
        return content.readable(notification, events[0],
                                lambda chain: ev.data_allowed(subject, chain, "read"))

    # -- writes ---------------------------------------------------------------------------

    def applies(self, info: SessionInfo) -> bool:
        """Whether NACM restricts this session at all (not off, not the recovery session)."""
        return self.evaluator.config.enable and not is_recovery(info)

    def authorize_write(self, info: SessionInfo,
                        changes: Iterable[tuple[etree._Element | None, etree._Element | None]],
                        root: etree._Element | None = None) -> None:
        """Raise access-denied if any (before, after) pair of top-level list entries changes
        a node the user may not create, update or delete; the caller then undoes the whole
        edit. `root` (the datastore's <config>) supplies the entries' containers."""
        if not self.applies(info):
            return
        subject = subject_of(info)
        ev = self.evaluator
        for before, after in changes:
            ancestors = _container(before, after, root)
            for _chain, op in ev.denied_writes(subject, before, after, ancestors):
                self._count("denied_data_writes")
                raise AccessDenied(f"access denied: {op} is not permitted",
                                   error_type="application")


def _container(before: etree._Element | None, after: etree._Element | None,
               root: etree._Element | None) -> tuple[etree._Element, ...]:
    """The top-level container holding an entry (snapshots are often detached); none for a
    singleton entry (/nacm), which is a top-level container itself."""
    for el in (after, before):
        if el is not None and el.tag in SINGLETON_TAGS:
            return ()
    for el in (after, before):
        parent = el.getparent() if el is not None else None
        if parent is not None and parent is not root:
            return (parent,)
    el = after if after is not None else before
    if el is None:
        return ()
    ns = etree.QName(el).namespace
    if root is not None:
        for child in root.iterchildren(tag=etree.Element):
            if etree.QName(child).namespace == ns:
                return (child,)
    return ()


_TRUSTED = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
SINGLETON_TAGS = frozenset(k.container_tag for k in KINDS.values() if k.singleton)


class NacmHolder(Protocol):
    """What nacm_state reads of the server."""

    @property
    def nacm(self) -> Nacm | None: ...


def nacm_state(server: NacmHolder, data: etree._Element) -> None:
    """The counters, and the rules in force when running has no /nacm (hvd's default)."""
    nacm: Nacm | None = getattr(server, "nacm", None)
    if nacm is None:
        return
    configured = data.find(qn(NACM, "nacm"))  # running's copy: the rules in force
    if configured is None:
        to_xml(nacm.config, data, nacm.counters())
        return
    for name, value in nacm.counters().items():
        etree.SubElement(configured, qn(NACM, name)).text = str(value)
