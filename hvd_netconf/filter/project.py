"""Copy the selected nodes of a data tree, with their ancestors and list keys, into a reply.

Both filter types reduce to "these source elements are selected in full"; this module turns
that selection into the reply tree in document order, so unions and overlaps merge naturally.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

from lxml import etree

from hvd_netconf.namespaces import nsmap
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.xmlparse import attributes


def _split(tag: str) -> tuple[str, str]:
    if tag[:1] == "{":
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def schema_child(schema: Schema | None, parent_node: SchemaNode | None,
                 tag: str) -> SchemaNode | None:
    """The schema node for `tag` under `parent_node` (None = top level); None when unknown."""
    if schema is None:
        return None
    ns, name = _split(tag)
    try:
        if parent_node is None:
            return schema.top(ns, name)
        return parent_node.child(ns, name)
    except (KeyError, LookupError):
        return None


def shallow_child(parent: etree._Element, src: etree._Element) -> etree._Element:
    """An empty copy of `src` under `parent`, with the namespace declarations made on `src`.

    Keeping them matters for prefixes used only in text (identityref values), which lxml
    would otherwise drop when copies are moved into the reply.
    """
    ns, _ = _split(src.tag)
    parent_ns, _ = _split(parent.tag) if isinstance(parent.tag, str) else ("", "")
    src_parent = src.getparent()
    inherited = src_parent.nsmap if src_parent is not None else {}
    own: dict[str | None, str] = {p: u for p, u in src.nsmap.items() if inherited.get(p) != u}
    if ns != parent_ns:
        own[None] = ns
    elif own.get(None) == ns:
        del own[None]
    return etree.SubElement(parent, src.tag, attributes(src), nsmap=nsmap(own) if own else None)


def project(
    root: etree._Element,
    selected: Iterable[etree._Element],
    out: etree._Element,
    schema: Schema | None = None,
) -> etree._Element:
    """Append to `out` the selected descendants of `root` with their ancestors and list keys."""
    full = set(selected)
    keep: set[etree._Element] = set()
    marked: dict[etree._Element | None, list[etree._Element]] = {}
    for el in full:
        marked.setdefault(el.getparent(), []).append(el)
        parent = el.getparent()
        while parent is not None and parent is not root and parent not in keep:
            keep.add(parent)
            marked.setdefault(parent.getparent(), []).append(parent)
            parent = parent.getparent()
    _emit(root, out, None, full, keep, marked, schema, ())
    return out


def _children(src: etree._Element, marked: dict[etree._Element | None, list[etree._Element]],
              key_tags: set[str]) -> list[etree._Element]:
    """The children worth looking at, in document order: all of them, or only the marked
    ones and the keys when they are few among many (one VM out of 10,000)."""
    few = marked.get(src, [])
    if len(src) <= 8 * (len(few) + len(key_tags)):
        return list(src.iterchildren(tag=etree.Element))
    chosen = set(few)
    chosen.update(k for tag in key_tags for k in src.iterchildren(tag))
    return sorted(chosen, key=src.index)


def _emit(
    src: etree._Element,
    out: etree._Element,
    snode: SchemaNode | None,
    full: set[etree._Element],
    keep: set[etree._Element],
    marked: dict[etree._Element | None, list[etree._Element]],
    schema: Schema | None,
    keys: tuple[str, ...],
) -> None:
    key_tags = {f"{{{_split(src.tag)[0]}}}{k}" for k in keys}
    for child in _children(src, marked, key_tags):
        if child in full:
            out.append(copy.deepcopy(child))
        elif child in keep:
            cnode = schema_child(schema, snode, child.tag)
            ckeys = tuple(getattr(cnode, "keys", ()) or ()) if cnode is not None else ()
            copy_el = shallow_child(out, child)
            _emit(child, copy_el, cnode, full, keep, marked, schema, ckeys)
        elif child.tag in key_tags:
            out.append(copy.deepcopy(child))
