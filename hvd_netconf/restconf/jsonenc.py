"""YANG data in JSON (RFC 7951), converted to and from the XML the operations speak.

The conversion walks the compiled schema (hvd_netconf.schema), never guesses from the text:
a member's name is qualified by its module where the namespace changes (§4), 64-bit integers
and decimal64 are strings while the smaller integers are numbers (§6.1), `empty` is `[null]`
(§6.9), an identityref names its module (§6.8), and a list or leaf-list is an array (§5.3-4).
Input is held to the same rules: a number where a string belongs, an unknown member or a
nesting deeper than the XML parser allows is an error in the operator's words, not a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue, MalformedMessage, UnknownElement
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.types import YangType

NUMBER_BASES = frozenset({"int8", "int16", "int32", "uint8", "uint16", "uint32"})
STRING_NUMBER_BASES = frozenset({"int64", "uint64", "decimal64"})


def _split(tag: str) -> tuple[str, str]:
    ns, _, name = tag[1:].partition("}")
    return ns, name


class JsonCodec:
    """XML <-> RFC 7951 JSON for one schema; module names and namespaces looked up once."""

    def __init__(self, schema: Schema, max_depth: int = 64) -> None:
        self.schema = schema
        self.max_depth = max_depth
        self.module_of_ns = {m.namespace: m.name for m in schema.modules}
        self.ns_of_module = {m.name: m.namespace for m in schema.modules}
        self._anywhere: dict[str, SchemaNode] | None = None  # data nodes by tag, made once

    # -- XML -> JSON ---------------------------------------------------------------------

    def member_name(self, node: SchemaNode, parent_ns: str | None) -> str:
        return node.name if node.ns == parent_ns else f"{node.module}:{node.name}"

    def to_json(self, elements: Iterable[etree._Element], parent: SchemaNode | None,
                parent_ns: str | None = None, roots: dict[str, SchemaNode] | None = None
                ) -> dict[str, Any]:
        """The members for sibling elements under `parent` (None: top-level data nodes, or
        the children of `roots` when given, e.g. an rpc's output)."""
        out: dict[str, Any] = {}
        for el in elements:
            if not isinstance(el.tag, str):
                continue  # comments, processing instructions
            node = self._node_of(el, parent, roots)
            key = self.member_name(node, parent_ns)
            if node.kind in ("list", "leaf-list"):
                out.setdefault(key, []).append(self._value(el, node))
            else:
                out[key] = self._value(el, node)
        return out

    def _node_of(self, el: etree._Element, parent: SchemaNode | None,
                 roots: dict[str, SchemaNode] | None) -> SchemaNode:
        if parent is not None:
            node = parent.by_tag.get(el.tag)
        elif roots is not None:
            node = roots.get(el.tag)
        else:
            node = self.schema.by_tag.get(el.tag)
        if node is None:
            ns, name = _split(el.tag)
            raise UnknownElement(f"{name} ({ns}) is not in the loaded YANG modules",
                                 info=[("bad-element", name)])
        return node

    def _value(self, el: etree._Element, node: SchemaNode) -> Any:
        if node.kind in ("container", "list", "input", "output", "notification"):
            return self.to_json(el, node, node.ns)
        if node.kind == "anydata":  # §5.5: the data nodes inside, named as at the top
            return self.to_json(el, None, None, self._anydata_roots(el))
        assert node.type is not None
        return self.leaf_to_json(el.text or "", node.type, el)

    def _anydata_roots(self, el: etree._Element) -> dict[str, SchemaNode] | None:
        """The schema nodes of anydata's children: top-level ones, or (a node cut out of
        its tree, as compare's patch carries) the data node of that name wherever it is."""
        if all(c.tag in self.schema.by_tag for c in el if isinstance(c.tag, str)):
            return None
        if self._anywhere is None:
            anywhere: dict[str, SchemaNode] = {}
            for top in self.schema.tops:
                for node in top.walk():
                    anywhere.setdefault(node.tag, node)
            self._anywhere = {**anywhere, **self.schema.by_tag}
        return self._anywhere

    def leaf_to_json(self, text: str, yt: YangType, el: etree._Element | None) -> Any:
        base = yt.base
        if base in NUMBER_BASES:
            return int(text)
        if base == "boolean":
            return text.strip() == "true"
        if base == "empty":
            return [None]
        if base == "identityref":
            prefix, _, name = text.strip().rpartition(":")
            ns = el.nsmap.get(prefix or None) if el is not None else None
            module = self.module_of_ns.get(ns or "")
            return f"{module}:{name}" if module else text.strip()
        if base == "leafref" and yt.target is not None and yt.target.type is not None:
            return self.leaf_to_json(text, yt.target.type, el)
        if base == "union":
            for member in yt.members:
                try:
                    canonical = member.check(text)
                except InvalidValue:
                    continue
                return self.leaf_to_json(canonical, member, el)
        return text  # strings, enumerations, bits, binary, 64-bit numbers, decimal64

    # -- JSON -> XML ---------------------------------------------------------------------

    def from_json(self, members: Any, parent: SchemaNode | None, into: etree._Element,
                  roots: dict[str, SchemaNode] | None = None, depth: int = 1) -> None:
        """Append the XML of a JSON object's members to `into`; `parent` as in to_json."""
        if depth > self.max_depth:
            raise MalformedMessage(f"the JSON nests deeper than {self.max_depth} levels")
        if not isinstance(members, dict):
            raise InvalidValue(f"expected a JSON object, got {type(members).__name__}")
        for key, value in members.items():
            node = self.find_member(key, parent, roots)
            values = value if node.kind in ("list", "leaf-list") else [value]
            if node.kind in ("list", "leaf-list") and not isinstance(value, list):
                raise InvalidValue(f"{key} is a {node.kind}: its value must be a JSON array")
            for item in values:
                if node.kind in ("container", "list"):
                    self.from_json(item, node, etree.SubElement(into, node.tag),
                                   depth=depth + 1)
                elif node.kind == "anydata":
                    self.from_json(item, None, etree.SubElement(into, node.tag),
                                   depth=depth + 1)
                else:
                    assert node.type is not None
                    text, ns = self.leaf_text(item, node.type, node.name)
                    el = etree.SubElement(into, node.tag, nsmap={"id": ns} if ns else None)
                    el.text = text

    def find_member(self, key: str, parent: SchemaNode | None,
                    roots: dict[str, SchemaNode] | None = None) -> SchemaNode:
        """The schema node a member name stands for; a top-level name must be qualified."""
        module, sep, name = key.partition(":")
        if not sep:
            module, name = "", key
            if parent is None:
                raise UnknownElement(f"{key!r} needs its module name (module:{key})",
                                     info=[("bad-element", key)])
        ns = self.ns_of_module.get(module) if module else parent.ns  # type: ignore[union-attr]
        tag = f"{{{ns}}}{name}"
        if parent is not None:
            node = parent.by_tag.get(tag)
        elif roots is not None:
            node = roots.get(tag)
        else:
            node = self.schema.by_tag.get(tag)
        if ns is None or node is None:
            raise UnknownElement(f"{key!r} is not a node of the YANG model here",
                                 info=[("bad-element", name)])
        return node

    def leaf_text(self, value: Any, yt: YangType, name: str) -> tuple[str | None, str | None]:
        """The XML text of a JSON leaf value, and the namespace an identityref's `id:` prefix
        must be bound to (None for every other type)."""
        base = yt.base
        if base == "leafref" and yt.target is not None and yt.target.type is not None:
            return self.leaf_text(value, yt.target.type, name)
        if base == "empty":
            if value != [None]:
                raise InvalidValue(f"{name} is an empty leaf: its JSON value is [null]")
            return None, None
        if base == "boolean":
            if not isinstance(value, bool):
                raise InvalidValue(f"{name} is a boolean: true or false, not {value!r}")
            return ("true" if value else "false"), None
        if base in NUMBER_BASES:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidValue(f"{name} is a {base}: a JSON number, not {value!r}")
            return str(value), None
        if base == "union":
            for member in yt.members:
                try:
                    text, ns = self.leaf_text(value, member, name)
                    return (text if ns else member.check(text or "")), ns
                except InvalidValue:
                    continue
            raise InvalidValue(f"{value!r} matches none of the types of {name}")
        if not isinstance(value, str):
            raise InvalidValue(f"{name} is a {base}: a JSON string, not {value!r}")
        if base == "identityref":
            module, sep, ident = value.partition(":")
            ns = self.ns_of_module.get(module) if sep else None
            if ns is None:
                raise InvalidValue(f"{name}: {value!r} must be module:identity")
            return f"id:{ident}", ns
        return value, None
