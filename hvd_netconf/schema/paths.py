"""Instance paths for error-path: `/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']/hvd-vm:cpu`."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.xpath import prefix_for


def quote(value: str) -> str:
    """An XPath literal for any string (concat() when it holds both quote kinds)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    parts = value.split("'")
    return "concat(" + ", \"'\", ".join(f"'{p}'" for p in parts) + ")"


def key_predicate(node: SchemaNode, entry: etree._Element) -> str:
    """`[p:k1='v1'][p:k2='v2']` for a list entry (keys that are missing are left out)."""
    out = []
    for kn in node.key_nodes:
        k = entry.find(kn.tag)
        if k is not None:
            out.append(f"[{kn.prefix}:{kn.name}={quote(k.text or '')}]")
    return "".join(out)


def _step(el: etree._Element, node: SchemaNode | None) -> str:
    q = etree.QName(el)
    if node is not None:
        step = f"{node.prefix}:{node.name}"
        return step + key_predicate(node, el) if node.kind == "list" else step
    if q.namespace:
        return f"{prefix_for(q.namespace, q.namespace)}:{q.localname}"
    return q.localname


def instance_path(schema: Schema, element: etree._Element) -> str:
    """The error-path of a data element; steps without a schema node keep their own name."""
    chain = []
    el: etree._Element | None = element
    while el is not None:
        chain.append(el)
        if el.tag in schema.by_tag:
            break
        el = el.getparent()
    else:
        # not under a top-level node: stop below the first non-data ancestor (e.g. <config>)
        chain = [element]
        p = element.getparent()
        while p is not None and p.getparent() is not None and p.tag not in _WRAPPERS:
            chain.append(p)
            p = p.getparent()
    steps = []
    node: SchemaNode | None = None
    for i, e in enumerate(reversed(chain)):
        if i == 0:
            node = schema.by_tag.get(e.tag)
        elif node is not None:
            node = node.by_tag.get(e.tag)
        steps.append(_step(e, node))
    return "/" + "/".join(steps)


def leaf_path(schema: Schema, parent: etree._Element, node: SchemaNode) -> str:
    """The path of a node that is absent (a missing mandatory leaf or key)."""
    return f"{instance_path(schema, parent)}/{node.prefix}:{node.name}"


_WRAPPERS = {
    "{urn:ietf:params:xml:ns:netconf:base:1.0}config",
    "{urn:ietf:params:xml:ns:netconf:base:1.0}data",
}
