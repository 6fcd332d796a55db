"""Entry-level differences between two configurations, for commit, compare and notifications."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping

from lxml import etree

from hvd_netconf.edit import paths
from hvd_netconf.edit.diff import entries
from hvd_netconf.keys import key_of, kind_of
from hvd_netconf.namespaces import BASE, default_ns
from hvd_netconf.store.datastore import same

EntryKey = tuple[str, str]
Lookup = Callable[[EntryKey], "etree._Element | None"]
Pair = tuple["etree._Element | None", "etree._Element | None"]


def changed_entries(keys: Iterable[EntryKey] | None, old_get: Lookup, new_get: Lookup,
                    old_root: etree._Element, new_root: etree._Element) -> dict[EntryKey, Pair]:
    """(before, after) of every entry that differs; keys None compares everything."""
    if keys is None:
        old_all, new_all = entries(old_root), entries(new_root)
        keys = list(old_all) + [k for k in new_all if k not in old_all]
        old_get, new_get = old_all.get, new_all.get
    out: dict[EntryKey, Pair] = {}
    for key in keys:
        a, b = old_get(key), new_get(key)
        if a is None and b is None:
            continue
        if a is None or b is None or not same(a, b):
            out[key] = (a, b)
    return out


def operation(pair: Pair) -> str:
    before, after = pair
    return "create" if before is None else "delete" if after is None else "modify"


_TARGET_HEADS: dict[tuple[str, str], str] = {}  # (kind, namespace) -> the path before the name


def entry_target(key: EntryKey, element: etree._Element | None) -> str:
    """The instance path of an entry: /hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web'].

    A commit asks for one per changed entry, so all but the quoted name is built once."""
    k = kind_of(key)
    tag = element.tag if element is not None else ""
    ns = (tag[1:tag.find("}")] if tag[:1] == "{" else None) or k.ns
    head = _TARGET_HEADS.get((k.name, ns))
    if head is None:
        head = paths.step(ns, k.container)
        if k.entry is not None:
            head += f"/{paths.prefix(ns)}:{k.entry}[{paths.prefix(ns)}:name="
        _TARGET_HEADS[(k.name, ns)] = head
    if k.entry is None:
        return head
    return f"{head}{paths.quote(key[1])}]"


def clean(el: etree._Element, parent: etree._Element | None = None) -> etree._Element:
    """A copy whose namespace is the default one throughout (engine-made nodes carry ns0:)."""
    if parent is None:
        ns = etree.QName(el).namespace
        new = etree.Element(el.tag, nsmap=default_ns(ns) if ns else None)
    else:
        new = etree.SubElement(parent, el.tag)
    kids = [c for c in el if isinstance(c.tag, str)]
    new.text = None if kids else el.text
    for c in kids:
        clean(c, new)
    return new


def _pretty(el: etree._Element | None) -> list[str]:
    if el is None:
        return []
    copy = clean(el)
    etree.indent(copy, space="  ")
    return etree.tostring(copy, encoding="unicode").splitlines(keepends=True)


def unified_diff(changes: Mapping[EntryKey, Pair]) -> str:
    """A readable unified diff, one hunk group per changed entry, in key order."""
    out: list[str] = []
    for key in sorted(changes):
        before, after = changes[key]
        name = f"{key[0]} {key[1]}"
        out.extend(difflib.unified_diff(_pretty(before), _pretty(after),
                                        fromfile=f"a/{name}", tofile=f"b/{name}", n=3))
    return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def patch(changes: Mapping[EntryKey, Pair], ns: str) -> etree._Element:
    """<patch> of hvd-system's compare: one edit per changed entry."""
    root = etree.Element(f"{{{ns}}}patch")
    for i, key in enumerate(sorted(changes), 1):
        before, after = changes[key]
        op = {"create": "create", "delete": "delete", "modify": "replace"}[
            operation((before, after))]
        edit = etree.SubElement(root, f"{{{ns}}}edit")
        etree.SubElement(edit, f"{{{ns}}}edit-id").text = str(i)
        etree.SubElement(edit, f"{{{ns}}}operation").text = op
        target = etree.SubElement(edit, f"{{{ns}}}target")
        target.text = entry_target(key, after if after is not None else before)
        if after is not None:
            value = etree.SubElement(edit, f"{{{ns}}}value")
            value.append(clean(after))
    return root


def images_root(elements: Iterable[etree._Element | None]) -> etree._Element:
    """A partial <config> holding copies of some entries (the other side of an apply)."""
    root = etree.Element(f"{{{BASE}}}config", nsmap=default_ns(BASE))
    containers: dict[str, etree._Element] = {}
    for el in elements:
        if el is None:
            continue
        k = kind_of(key_of(el))
        if k.singleton:
            root.append(etree.fromstring(etree.tostring(el)))
            continue
        c = containers.get(k.name)
        if c is None:
            c = containers[k.name] = etree.SubElement(root, k.container_tag)
        c.append(etree.fromstring(etree.tostring(el)))
    return root
