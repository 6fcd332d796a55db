"""The data nodes a notification tells about, so NACM read rules reach notification content
(RFC 8341 §3.4.6): a user who may not read a node gets no event about it. A vm-state-change,
snapshot-taken or snapshot-pruned is about /vms/vm[name]; each edit of a netconf-config-change
(RFC 6470) is about its target.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from hvd_netconf.edit.paths import parse_key_predicates
from hvd_netconf.namespaces import NC_NOTIFICATIONS, PREFIXES, VM, qn

Chain = tuple[etree._Element, ...]
MayRead = Callable[[Chain], bool]

_NAME = r"[A-Za-z_][\w.-]*"
_PREDICATES = r"""(?:\[(?:[^\]'"]|'[^']*'|"[^"]*")*\])*"""
_STEP = re.compile(rf"/({_NAME}):({_NAME})({_PREDICATES})")
_EDIT = qn(NC_NOTIFICATIONS, "edit")
_TARGET = qn(NC_NOTIFICATIONS, "target")
# The events about one VM, by the leaf that names it.
_ABOUT_VM = {qn(VM, "vm-state-change"): qn(VM, "name"), qn(VM, "snapshot-taken"): qn(VM, "vm"),
             qn(VM, "snapshot-pruned"): qn(VM, "vm")}


def target_chain(target: str) -> Chain | None:
    """An instance-identifier with hvd's prefixes as the chain of nodes it names, each list
    entry with its keys as children (what a NACM path is matched against); None when it is
    not one."""
    chain: list[etree._Element] = []
    pos = 0
    while pos < len(target):
        m = _STEP.match(target, pos)
        if m is None or m.group(1) not in PREFIXES:
            return None
        ns = PREFIXES[m.group(1)]
        el = etree.Element(qn(ns, m.group(2)))
        if chain:
            chain[-1].append(el)
        for key, value in (parse_key_predicates(m.group(3)) or {}).items():
            etree.SubElement(el, qn(ns, key)).text = value
        chain.append(el)
        pos = m.end()
    return tuple(chain) or None


def _vm_chain(name: str) -> Chain:
    vms = etree.Element(qn(VM, "vms"))
    vm = etree.SubElement(vms, qn(VM, "vm"))
    etree.SubElement(vm, qn(VM, "name")).text = name
    return vms, vm


def readable(notification: etree._Element, event: etree._Element,
             may_read: MayRead) -> etree._Element | None:
    """The `<notification>` as a user who may read what `may_read` allows sees it: itself,
    a copy without the config-change edits the user may not read, or None (not sent: the
    event is about a VM the user may not read, or every edit was hidden)."""
    if event.tag in _ABOUT_VM:
        name = event.findtext(_ABOUT_VM[event.tag])
        return notification if name is None or may_read(_vm_chain(name)) else None
    if event.tag != qn(NC_NOTIFICATIONS, "netconf-config-change"):
        return notification
    edits = event.findall(_EDIT)
    hidden = set()
    for i, edit in enumerate(edits):
        chain = target_chain((edit.findtext(_TARGET) or "").strip())
        if chain is None or not may_read(chain):
            hidden.add(i)
    if not hidden:
        return notification
    if len(hidden) == len(edits):
        return None
    out = etree.fromstring(etree.tostring(notification))
    copy_edits = out[list(notification).index(event)].findall(_EDIT)
    for i in hidden:
        parent = copy_edits[i].getparent()
        if parent is not None:
            parent.remove(copy_edits[i])
    return out
