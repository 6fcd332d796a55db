"""RESTCONF api-paths (RFC 8040 §3.5.3) against the schema, and the XML they stand for.

`/hvd-vm:vms/vm=web1/memory` becomes schema steps, then the nested XML skeleton that selects
it (a subtree filter for a read; the envelope of an edit-config for a write) and, in a reply,
the element it names. The path is split on `/` and `,` before percent-decoding, so a key may
hold either character.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

from lxml import etree

from hvd_netconf.errors import InvalidValue, UnknownElement
from hvd_netconf.namespaces import YANG_ATTR
from hvd_netconf.schema.nodes import Schema, SchemaNode


@dataclass(frozen=True)
class Step:
    node: SchemaNode
    values: tuple[str, ...] = ()  # list keys in key order, or a leaf-list's one value


def decode(text: str) -> str:
    try:
        return unquote(text, errors="strict")
    except UnicodeDecodeError:
        raise InvalidValue(f"{text!r} is not percent-encoded UTF-8") from None


def parse(schema: Schema, path: str, under: list[Step] | None = None) -> list[Step]:
    """Steps of a percent-encoded api-path (without the `{+restconf}/data` prefix); with
    `under`, of a path relative to those steps (a YANG Patch edit's target), them included."""
    steps: list[Step] = list(under or [])
    parent: SchemaNode | None = steps[-1].node if steps else None
    for raw in path.strip("/").split("/") if path.strip("/") else []:
        ident, eq, keys = raw.partition("=")
        module, colon, name = decode(ident).rpartition(":")
        if colon:
            ns = next((m.namespace for m in schema.modules if m.name == module), None)
        elif parent is None:
            raise InvalidValue(f"the first step {name!r} needs its module (module:{name})")
        else:
            ns = parent.ns
        tag = f"{{{ns}}}{name}"
        node = (parent.by_tag if parent is not None else schema.by_tag).get(tag)
        if ns is None or node is None or node.kind not in (
                "container", "list", "leaf", "leaf-list"):
            raise UnknownElement(f"{decode(ident)!r} is not a data node here",
                                 info=[("bad-element", name)])
        values = tuple(decode(v) for v in keys.split(",")) if eq else ()
        if node.kind == "list" and len(values) != len(node.keys):
            raise InvalidValue(f"list {name} needs its key{'s' if len(node.keys) > 1 else ''}"
                               f" {', '.join(node.keys)} as {name}=value")
        if node.kind == "leaf-list" and eq and len(values) != 1:
            raise InvalidValue(f"leaf-list {name} takes one value as {name}=value")
        if node.kind in ("container", "leaf") and eq:
            raise InvalidValue(f"{name} is a {node.kind}: it takes no =value")
        for key_node, value in zip(node.key_nodes, values, strict=False):
            key_node.check_value(value)
        steps.append(Step(node, values))
        parent = node
    return steps


def element_of(step: Step, parent: etree._Element | None) -> etree._Element:
    """The step's element with its key leaves (or leaf-list value), under parent if given."""
    node = step.node
    el = etree.Element(node.tag) if parent is None else etree.SubElement(parent, node.tag)
    if node.kind == "list":
        for key_node, value in zip(node.key_nodes, step.values, strict=True):
            etree.SubElement(el, key_node.tag).text = value
    elif node.kind == "leaf-list" and step.values:
        el.text = step.values[0]
    return el


def skeleton(steps: list[Step]) -> tuple[etree._Element, etree._Element]:
    """(outermost, innermost) elements of the nested XML the steps name."""
    top = el = element_of(steps[0], None)
    for step in steps[1:]:
        el = element_of(step, el)
    return top, el


def matches(el: etree._Element, step: Step) -> bool:
    node = step.node
    if el.tag != node.tag:
        return False
    if node.kind == "list":
        return all(el.findtext(k.tag) == v for k, v in zip(node.key_nodes, step.values,
                                                           strict=True))
    if node.kind == "leaf-list" and step.values:
        return (el.text or "") == step.values[0]
    return True


def find(data: etree._Element, steps: list[Step]) -> list[etree._Element]:
    """The elements under `data` (a <data> reply) the steps name; empty when absent."""
    found = [data]
    for step in steps:
        found = [c for el in found for c in el if isinstance(c.tag, str) and matches(c, step)]
    return found


def segment(step: Step, parent: SchemaNode | None) -> str:
    """The api-path segment of one step, percent-encoded (for a Location header)."""
    node = step.node
    name = node.name if parent is not None and parent.ns == node.ns else \
        f"{node.module}:{node.name}"
    if step.values:
        name += "=" + ",".join(quote(v, safe="") for v in step.values)
    return name


def step_of(el: etree._Element, node: SchemaNode) -> Step:
    """The step naming an element of the model (its keys read from the element)."""
    if node.kind == "list":
        return Step(node, tuple(el.findtext(k.tag) or "" for k in node.key_nodes))
    if node.kind == "leaf-list":
        return Step(node, (el.text or "",))
    return Step(node)


def set_insert(el: etree._Element, node: SchemaNode, where: str,
               point: list[Step] | None) -> None:
    """Where an ordered-by-user entry goes (RESTCONF insert/point, YANG Patch where/point),
    as the yang:insert and yang:key or yang:value attributes of edit-config (RFC 7950
    §7.8.6), which the edit engine checks. Set it once el is in its final tree."""
    el.set(f"{{{YANG_ATTR}}}insert", where)
    if point is None:
        return
    if not point or point[-1].node is not node or not point[-1].values:
        raise InvalidValue(f"point must name an entry of {node.name}")
    if node.kind == "leaf-list":
        el.set(f"{{{YANG_ATTR}}}value", point[-1].values[0])
        return
    preds = []
    for key, value in zip(node.keys, point[-1].values, strict=True):
        quote = '"' if "'" in value else "'"
        if quote in value:
            raise InvalidValue(f"point key {value!r} holds both quote characters")
        preds.append(f"[{key}={quote}{value}{quote}]")
    el.set(f"{{{YANG_ATTR}}}key", "".join(preds))
