"""The syntax of a NACM node-instance-identifier (RFC 8341 §3.5.2, a rule's <path>).

RFC 8341 defines it as an instance-identifier whose key predicates are optional: absolute,
every step a `prefix:name` node of the schema (RFC 7950 §9.13: prefixes are the XML namespace
declarations in scope of the leaf), predicates naming keys of that list (or `.` of a
leaf-list) once each, with quoted values; `/` alone is every node. hvd also resolves a module's
prefix or name that the document does not declare, as the NACM evaluator does
(nacm/model.parse_path), so that `/hvd-vm:vms` works as typed on a command line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema.nodes import Schema, SchemaNode

_STEP = re.compile(r"/([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)")
_PRED = re.compile(r"\[\s*(?:([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)|(\.))\s*=\s*"
                   r"(?:'([^']*)'|\"([^\"]*)\")\s*\]")


def check_node_path(schema: Schema, el: etree._Element) -> None:
    """Raise InvalidValue when the text of `el` is not a node-instance-identifier."""
    text = (el.text or "").strip()
    if text == "/":
        return
    nsmap: Mapping[str | None, str] = el.nsmap
    pos, node = 0, None

    def bad(why: str) -> InvalidValue:
        return InvalidValue(f"{text!r} is not a data node path: {why}")

    def resolve(prefix: str) -> str:
        ns = nsmap.get(prefix)
        if ns is None:
            mod = next((m for m in schema.modules if prefix in (m.prefix, m.name)), None)
            if mod is None:
                raise bad(f"no namespace is declared for the prefix {prefix!r}")
            ns = mod.namespace
        return ns

    if not text.startswith("/"):
        raise bad("it must start with /")
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            raise bad(f"expected /prefix:name at {text[pos:]!r}")
        ns = resolve(m.group(1))
        tag = f"{{{ns}}}{m.group(2)}"
        found = schema.by_tag.get(tag) if node is None else node.by_tag.get(tag)
        if found is None:
            raise bad(f"there is no node {m.group(1)}:{m.group(2)} here")
        node, pos = found, m.end()
        given: set[str] = set()
        while pos < len(text) and text[pos] == "[":
            p = _PRED.match(text, pos)
            if p is None:
                raise bad(f"bad predicate at {text[pos:]!r}")
            _predicate(node, p, resolve, given, bad)
            pos = p.end()


def _predicate(node: SchemaNode, p: re.Match[str], resolve: Callable[[str], str],
               given: set[str], bad: Callable[[str], InvalidValue]) -> None:
    kn: SchemaNode | None
    if p.group(3):
        if node.kind != "leaf-list":
            raise bad(f"[.=...] selects a leaf-list value, and {node.name!r} is a {node.kind}")
        name, kn = ".", node
    else:
        kn = node.by_tag.get(f"{{{resolve(p.group(1))}}}{p.group(2)}")
        if node.kind != "list" or kn is None or not kn.is_key:
            raise bad(f"{p.group(2)!r} is not a key of {node.name!r}")
        name = kn.name
    if name in given:
        raise bad(f"the key {name!r} is given twice")
    given.add(name)
    value = p.group(4) if p.group(4) is not None else p.group(5)
    assert kn is not None  # both branches above give one or raise
    kn.check_value(value)
