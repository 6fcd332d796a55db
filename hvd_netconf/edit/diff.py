"""Which entries of the configuration changed: per-entry (kind, name, old, new).

Entries are the keyed top-level list entries of the /hv tree, ("vm", name) and
("network", name), and the singleton containers such as ("nacm", "nacm") (hvd_netconf.keys).
Given the changed keys and O(1) lookups, the cost is O(change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.keys import KINDS, Key
from hvd_netconf.store.datastore import same

Lookup = Callable[[Key], "etree._Element | None"]


@dataclass(frozen=True)
class Change:
    kind: str
    name: str
    old: etree._Element | None
    new: etree._Element | None

    @property
    def op(self) -> str:
        if self.old is None:
            return "create"
        return "delete" if self.new is None else "modify"


def entry_name(entry: etree._Element) -> str:
    ns = etree.QName(entry).namespace
    name = entry.find(f"{{{ns}}}name")
    text = (name.text or "").strip() if name is not None else ""
    if not text:
        raise ValueError(f"<{etree.QName(entry).localname}> without a name")
    return text


def entries(root: etree._Element | None) -> dict[Key, etree._Element]:
    """Index every entry of a <config> root (O(size); for whole-tree diffs)."""
    out: dict[Key, etree._Element] = {}
    if root is None:
        return out
    for k in sorted(KINDS.values(), key=lambda k: k.name):
        for top in root.iterchildren(k.container_tag):
            if k.singleton:
                if len(top):  # an empty non-presence container is no configuration
                    out[(k.name, k.name)] = top
                continue
            for entry in top.iterchildren(k.entry_tag):
                out[(k.name, entry_name(entry))] = entry
    return out


def diff_keys(keys: Iterable[Key], old_get: Lookup, new_get: Lookup) -> list[Change]:
    """Changes among the given keys only, looked up in O(1) each; kinds with no effect on
    the host (/nacm) are left out."""
    out: list[Change] = []
    for kind, name in dict.fromkeys(keys):
        if kind not in KINDS:
            raise ValueError(f"unknown entry kind {kind!r}")
        if not KINDS[kind].host:
            continue
        old, new = old_get((kind, name)), new_get((kind, name))
        if old is None and new is None:
            continue
        if old is not None and new is not None and same(old, new):
            continue
        out.append(Change(kind, name, old, new))
    return out


def diff(
    old_root: etree._Element | None,
    new_root: etree._Element | None,
    keys: Iterable[Key] | None = None,
) -> list[Change]:
    """Changes between two <config> roots; restricted to `keys` when given."""
    old, new = entries(old_root), entries(new_root)
    if keys is None:
        keys = [*old, *(k for k in new if k not in old)]
    return diff_keys(keys, old.get, new.get)
