"""Operational state for <get>: the daemon lists the providers, retrieval calls them.

A provider adds config-false data to the reply's data tree, which already holds a copy of the
running configuration (so per-entry `state` containers go inside existing entries):

    def vm_state(server, data):
        for name, st in server.supervisor.snapshot().items():
            vm = list_entry(data, (VM, "vms"), (VM, "vm"), "name", name)
            ...add a <state> child to vm...

    providers.add("vm-state", vm_state, tops=[(VM, "vms")])

`tops` names the top-level containers a provider writes; a filtered <get> skips providers whose
tops the filter cannot select. `below` names the one node a provider writes under each entry
(`statistics`): it is skipped as well when the filter selects other nodes of its tops and never
that one, so a <get> of VM state reads no statistics from the host. A provider that raises is
logged and left out of the reply.

The server is a type parameter: this floor is below the server, so the daemon says what it
passes (ops.registry.ServerView), and each provider declares, as a Protocol on its own floor,
only the part it reads (operational.py's VmHostView).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from lxml import etree

from hvd_netconf.namespaces import nsmap as ns_map
from hvd_netconf.namespaces import qn

log = logging.getLogger(__name__)

S = TypeVar("S")  # the server the providers read
Provider = Callable[[S, etree._Element], None]
Top = tuple[str, str]
Named = Callable[[Top, str], bool]  # may the filter select a node of this name under top?


@dataclass(frozen=True)
class _Entry(Generic[S]):
    name: str
    fn: Provider[S]
    tops: frozenset[Top]
    below: str | None


class StateProviders(Generic[S]):
    def __init__(self) -> None:
        self._entries: dict[str, _Entry[S]] = {}

    def add(self, name: str, fn: Provider[S], *, tops: Iterable[Top] = (),
            below: str | None = None) -> None:
        """Adding the same name again replaces the provider."""
        self._entries[name] = _Entry(name, fn, frozenset(tops), below)

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return list(self._entries)

    def fill(self, server: S, data: etree._Element,
             wanted: Callable[[Top], bool] | None = None, named: Named | None = None) -> None:
        """Run every provider whose tops may be selected (`wanted(top)`) against `data`, and
        whose `below` node may be too (`named(top, below)`)."""
        for entry in list(self._entries.values()):
            if wanted is not None and entry.tops and not any(wanted(t) for t in entry.tops):
                continue
            if named is not None and entry.below is not None and entry.tops and not any(
                    named(t, entry.below) for t in entry.tops):
                continue
            try:
                entry.fn(server, data)
            except Exception:
                log.exception("state provider %s failed", entry.name)


def child(parent: etree._Element, ns: str, name: str,
          prefixes: dict[str, str] | None = None) -> etree._Element:
    """The first child `{ns}name` of parent, created (declaring ns if new) when missing.

    `prefixes` are declared on a new element: identityref values below it use them, and
    declarations on a top-level container survive copying into replies.
    """
    found = parent.find(qn(ns, name))
    if found is not None:
        return found
    parent_ns = etree.QName(parent).namespace if isinstance(parent.tag, str) else None
    nsmap: dict[str | None, str] = {} if parent_ns == ns else {None: ns}
    nsmap.update(prefixes or {})
    return etree.SubElement(parent, qn(ns, name), nsmap=ns_map(nsmap) if nsmap else None)


def list_entry(data: etree._Element, top: Top, entry: Top, key: str,
               value: str) -> etree._Element:
    """The list entry top/entry[key=value] under data, created (with its key) when missing."""
    container = child(data, *top)
    ns, name = entry
    key_tag = qn(ns, key)
    for el in container.iterchildren(qn(ns, name)):
        if el.findtext(key_tag) == value:
            return el
    el = etree.SubElement(container, qn(ns, name))
    etree.SubElement(el, key_tag).text = value
    return el


def leaf(parent: etree._Element, name: str, value: object) -> etree._Element:
    """A leaf in parent's namespace; booleans are rendered the YANG way."""
    ns = etree.QName(parent).namespace or ""
    el = etree.SubElement(parent, qn(ns, name))
    el.text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return el
