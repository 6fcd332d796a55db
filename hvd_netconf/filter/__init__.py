"""NETCONF filters (RFC 6241 §6 subtree, §8.9 XPath) as pure functions over lxml trees.

    spec = parse_filter(op.find(qn(BASE, "filter")))   # None when there is no <filter>
    data = etree.Element(qn(BASE, "data"))
    apply_filter(spec, datastore_root, data, schema)   # data gets the selected nodes

`datastore_root` is a wrapper element (<config> or <data>) whose children are the top-level
containers; it is read, never modified, so the live datastore can be filtered without a copy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.errors import BadAttribute, MissingAttribute
from hvd_netconf.filter.project import project
from hvd_netconf.filter.subtree import subtree_select
from hvd_netconf.filter.xpath import compile_select, select_nodes
from hvd_netconf.schema.nodes import Schema
from hvd_netconf.xmlparse import attributes

__all__ = ["Filter", "apply_filter", "parse_filter", "project", "selected_nodes"]


@dataclass(frozen=True)
class Filter:
    """A parsed <filter>: subtree (the element itself) or xpath (compiled select)."""

    type: str
    element: etree._Element
    select: str | None = None
    xpath: etree.XPath | None = None


def parse_filter(el: etree._Element | None, *, xpath_allowed: bool = True,
                 schema: Schema | None = None) -> Filter | None:
    """Check a <filter> element's type and select; None for no filter at all. With the schema,
    an XPath's names are resolved against it (module-name prefixes, unprefixed names)."""
    if el is None:
        return None
    ftype = el.get("type", "subtree")
    # The type attribute may be unqualified or carry the base namespace prefix.
    for key, value in attributes(el).items():
        if key.endswith("}type"):
            ftype = value
    if ftype == "subtree":
        return Filter("subtree", el)
    if ftype == "xpath" and xpath_allowed:
        select = el.get("select")
        if select is None:
            for key, value in attributes(el).items():
                if key.endswith("}select"):
                    select = value
        if select is None:
            raise MissingAttribute("an xpath filter needs a select attribute",
                                   error_type="protocol",
                                   info=[("bad-attribute", "select"), ("bad-element", "filter")])
        return Filter("xpath", el, select, compile_select(select, el.nsmap, schema))
    raise BadAttribute(f"unsupported filter type {ftype!r}",
                       info=[("bad-attribute", "type"), ("bad-element", "filter")])


def selected_nodes(spec: Filter, root: etree._Element
                   ) -> list[etree._Element] | set[etree._Element]:
    """The elements under `root` the filter selects in full."""
    if spec.type == "subtree":
        return subtree_select(root, spec.element)
    assert spec.xpath is not None and spec.select is not None
    nodes = select_nodes(spec.xpath, root, spec.select)
    return [c for c in root.iterchildren(tag=etree.Element)] if root in nodes else nodes


def apply_filter(
    spec: Filter | None,
    root: etree._Element,
    out: etree._Element,
    schema: Schema | None = None,
) -> etree._Element:
    """Put into `out` what `spec` selects from the children of `root` (no filter: everything)."""
    if spec is None:
        for child in root.iterchildren(tag=etree.Element):
            out.append(copy.deepcopy(child))
        return out
    return project(root, selected_nodes(spec, root), out, schema)
