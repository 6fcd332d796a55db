"""/ui/schema.json: what the web interface needs of the YANG to draw its forms, and what
this user may do.

Forms are generated from this, never written by hand: each configurable node of the
configuration's lists and singletons (LISTS) with its type (base, enums, ranges, lengths,
the list a leafref picks from), default, units, description and whether it is mandatory;
each rpc with its input and whether NACM lets the user run it; and per list whether the user
may create, change and delete entries. The permissions only decide what is offered: the
server checks every request.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.keys import KINDS
from hvd_netconf.nacm.access import subject_of
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.types import YangType
from hvd_netconf.server import Server

LISTS = tuple(KINDS)  # the interface edits every kind of the configuration
WRITES = ("create", "update", "delete")


def describe(server: Server, info: SessionInfo) -> dict[str, Any]:
    schema = server.schema
    assert schema is not None
    ev = server.nacm.evaluator
    subject = subject_of(info)
    bypass = not server.nacm.applies(info)
    lists: dict[str, Any] = {}
    for name in LISTS:
        kind = KINDS[name]
        top = schema.top(kind.ns, kind.container)
        assert top is not None
        entry = top.child(kind.ns, kind.entry) if kind.entry is not None else top
        assert entry is not None
        container = etree.Element(kind.container_tag)
        chain: tuple[etree._Element, ...] = (container,) if kind.singleton else (
            container, etree.SubElement(container, kind.entry_tag))
        lists[name] = {
            "module": top.module, "container": kind.container, "entry": kind.entry,
            "singleton": kind.singleton,
            "keys": list(entry.keys), "description": entry.description,
            "may": {op: bypass or ev.data_allowed(subject, chain, op) for op in WRITES},
            "nodes": [node_json(c, schema) for c in entry.children if c.config],
        }
    rpcs: dict[str, Any] = {}
    for tag, node in schema.rpcs.items():
        ns, local = etree.QName(tag).namespace, etree.QName(tag).localname
        if node.module in ("ietf-netconf", "notifications", "nc-notifications"):
            continue
        rpcs[f"{node.module}:{local}"] = {
            "may": bypass or ev.rpc_allowed(subject, ns or "", local),
            "description": node.description,
            "input": [node_json(c, schema) for c in node.children],
        }
    return {"user": info.username, "groups": sorted(info.groups), "lists": lists,
            "rpcs": rpcs}


def node_json(node: SchemaNode, schema: Schema, optional: bool = False) -> dict[str, Any]:
    """optional: the node is inside a presence container, whose mandatory leaves are required
    only once it is there (RFC 7950 §7.6.5): the form does not make them required, the
    server checks them when the container is set."""
    out: dict[str, Any] = {"name": node.name, "kind": node.kind}
    if node.description:
        out["description"] = node.description
    if node.mandatory and not optional:
        out["mandatory"] = True
    if node.units:
        out["units"] = node.units
    if node.default is not None:
        out["default"] = node.default
    if node.case is not None:
        out["case"] = list(node.case)
    if node.presence:
        out["presence"] = True
    if node.keys:
        out["keys"] = list(node.keys)
    if node.type is not None:
        out["type"] = type_json(node.type)
    kids = [c for c in node.children if c.config]
    if node.kind in ("container", "list"):
        inside = optional or bool(node.presence)
        out["children"] = [node_json(c, schema, inside and node.kind == "container")
                           for c in kids]
    return out


def type_json(t: YangType) -> dict[str, Any]:
    out: dict[str, Any] = {"base": t.base}
    if t.enums:
        out["enums"] = list(t.enums)
    if t.bits:
        out["bits"] = list(t.bits)
    for name, rs in (("ranges", t.ranges), ("lengths", t.lengths), ("patterns", t.patterns)):
        if rs:
            out[name] = [r.text for r in rs]
    if t.base == "leafref" and t.target is not None:
        target = t.target
        parent = getattr(target, "parent", None)
        for name, kind in KINDS.items():
            if parent is not None and parent.tag == kind.entry_tag:
                out["picks"] = name  # a pick list of the entries of that list
        if t.target.type is not None:
            out["target"] = type_json(t.target.type)
    if t.members:
        out["members"] = [type_json(m) for m in t.members]
    return out
