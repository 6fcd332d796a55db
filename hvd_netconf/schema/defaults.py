"""RFC 6243 with-defaults shaping of a data tree: report-all, report-all-tagged, trim.

`explicit` is the stored tree itself (hvd stores what was set), so it needs no function here.
Each function takes an element whose children are module top-level nodes (<config>, <data>)
and returns a new tree; the input is left alone unless inplace=True.
"""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf.namespaces import WD_ATTR
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.validate import when_true

DEFAULT_ATTR = f"{{{WD_ATTR}}}default"


def report_all(schema: Schema, root: etree._Element, *, inplace: bool = False
               ) -> etree._Element:
    """Add every default nobody set, including np-containers that only hold defaults."""
    return _shape(schema, root, inplace, tagged=False)


def report_all_tagged(schema: Schema, root: etree._Element, *, inplace: bool = False
                      ) -> etree._Element:
    """report-all, and every node whose value is its default carries wd:default="true"."""
    out = _shape(schema, root, inplace, tagged=True)
    etree.cleanup_namespaces(out, top_nsmap={"wd": WD_ATTR})
    return out


def trim(schema: Schema, root: etree._Element, *, inplace: bool = False) -> etree._Element:
    """Drop leaves equal to their default (even when set), then np-containers left empty."""
    out = root if inplace else copy.deepcopy(root)
    for el in list(out):
        top = schema.by_tag.get(el.tag)
        if top is not None:
            _trim(el, top)
    return out


def is_default(node: SchemaNode, el: etree._Element) -> bool:
    """Does this leaf hold its schema default (compared in canonical form)?"""
    if node.kind != "leaf" or node.default is None or node.type is None:
        return False
    try:
        return node.type.check(el.text) == node.default
    except Exception:  # an invalid stored value is simply not the default
        return False


def _shape(schema: Schema, root: etree._Element, inplace: bool, tagged: bool
           ) -> etree._Element:
    out = root if inplace else copy.deepcopy(root)
    for el in list(out):
        top = schema.by_tag.get(el.tag)
        if top is not None:
            _fill(el, top, tagged, out)
    return out


def _fill(el: etree._Element, node: SchemaNode, tagged: bool, root: etree._Element) -> None:
    present: dict[str, list[etree._Element]] = {}
    for child in el:
        present.setdefault(child.tag, []).append(child)
    before = len(el)
    for cn in node.children:
        have = present.get(cn.tag)
        if have:
            if cn.kind in ("container", "list"):
                for c in have:
                    _fill(c, cn, tagged, root)
            elif tagged and is_default(cn, have[0]):
                have[0].set(DEFAULT_ATTR, "true")
            continue
        if cn.kind == "leaf" and cn.default is not None:
            if when_true(cn, el, root):
                leaf = etree.SubElement(el, cn.tag)
                leaf.text = cn.default
                if tagged:
                    leaf.set(DEFAULT_ATTR, "true")
        elif cn.kind == "container" and not cn.presence and _may_hold_defaults(cn):
            if not when_true(cn, el, root):
                continue
            sub = etree.SubElement(el, cn.tag)
            _fill(sub, cn, tagged, root)
            if not len(sub):
                el.remove(sub)
    if len(el) != before:  # put what was added in schema order; lists keep their own order
        order = {c.tag: i for i, c in enumerate(node.children)}
        el[:] = sorted(el, key=lambda c: order.get(c.tag, len(order)))


def _may_hold_defaults(node: SchemaNode) -> bool:
    return any(c.default is not None or (c.kind == "container" and not c.presence
                                         and _may_hold_defaults(c)) for c in node.children)


def _trim(el: etree._Element, node: SchemaNode) -> None:
    for child in list(el):
        cn = node.by_tag.get(child.tag)
        if cn is None:
            continue
        if cn.kind in ("container", "list"):
            _trim(child, cn)
            if cn.kind == "container" and not cn.presence and not len(child):
                el.remove(child)
        elif is_default(cn, child):
            el.remove(child)
