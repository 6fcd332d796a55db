"""The compiled schema: plain objects, so validation never touches pyang statements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema.types import YangType
from hvd_netconf.schema.xpath import YangXPath


@dataclass(frozen=True)
class Module:
    name: str
    revision: str | None
    namespace: str
    prefix: str
    path: Path
    text: str


class SchemaNode:
    """A data node (container, list, leaf, leaf-list) or an rpc input / notification root."""

    __slots__ = (
        "__weakref__", "by_tag", "case", "children", "config", "default", "description",
        "is_key", "key_nodes", "keys", "kind", "mandatory", "max_elements", "min_elements",
        "module", "musts", "name", "ns", "ordered_by_user", "parent", "prefix", "presence", "tag",
        "type", "units", "when",
    )

    def __init__(self, kind: str, name: str, ns: str, prefix: str, module: str,
                 parent: SchemaNode | None) -> None:
        self.kind = kind
        self.name = name
        self.ns = ns
        self.prefix = prefix
        self.module = module
        self.parent = parent
        self.tag = f"{{{ns}}}{name}"
        self.children: list[SchemaNode] = []
        self.by_tag: dict[str, SchemaNode] = {}
        self.keys: tuple[str, ...] = ()
        self.key_nodes: tuple[SchemaNode, ...] = ()
        self.is_key = False
        self.config = True
        self.default: str | None = None
        self.mandatory = False
        self.presence = False
        self.ordered_by_user = False
        self.min_elements = 0
        self.max_elements: int | None = None
        self.when: YangXPath | None = None
        self.musts: list[YangXPath] = []
        self.type: YangType | None = None
        self.units: str | None = None
        self.description: str | None = None  # help text for a form (the web interface)
        self.case: tuple[str, str] | None = None  # (choice, case) this node sits in

    def __repr__(self) -> str:
        return f"<SchemaNode {self.kind} {self.prefix}:{self.name}>"

    def child(self, ns: str, name: str) -> SchemaNode | None:
        return self.by_tag.get(f"{{{ns}}}{name}")

    def add(self, node: SchemaNode) -> None:
        self.children.append(node)
        self.by_tag[node.tag] = node

    def check_value(self, text: str | None) -> str:
        """Canonical text of a leaf value, or InvalidValue with the model's message."""
        if self.type is None:
            raise InvalidValue(f"{self.name} is not a leaf")
        return self.type.check(text)

    def walk(self) -> Iterator[SchemaNode]:
        yield self
        for c in self.children:
            yield from c.walk()


class Schema:
    """All loaded modules; top-level data nodes, RPC inputs and notifications by (ns, name)."""

    def __init__(self, yang_dir: Path, modules: list[Module]) -> None:
        self.yang_dir = yang_dir
        self.modules = modules
        self.tops: list[SchemaNode] = []
        self.by_tag: dict[str, SchemaNode] = {}
        self.rpcs: dict[str, SchemaNode] = {}
        self.outputs: dict[str, SchemaNode] = {}  # rpc output by the rpc's tag (RESTCONF JSON)
        self.notifications: dict[str, SchemaNode] = {}
        self.namespaces = frozenset(m.namespace for m in modules)

    def __repr__(self) -> str:
        return f"<Schema {', '.join(m.name for m in self.modules)}>"

    def top(self, ns: str, name: str) -> SchemaNode | None:
        return self.by_tag.get(f"{{{ns}}}{name}")

    def rpc(self, ns: str, name: str) -> SchemaNode | None:
        return self.rpcs.get(f"{{{ns}}}{name}")

    def notification(self, ns: str, name: str) -> SchemaNode | None:
        return self.notifications.get(f"{{{ns}}}{name}")

    def module(self, name: str) -> Module | None:
        return next((m for m in self.modules if m.name == name), None)

    def find(self, element: etree._Element) -> SchemaNode | None:
        """The schema node of a data element, found from its ancestors' tags."""
        tags = []
        el: etree._Element | None = element
        while el is not None:
            tags.append(el.tag)
            if el.tag in self.by_tag:
                break
            el = el.getparent()
        else:
            return None
        node = self.by_tag[tags.pop()]
        for tag in reversed(tags):
            found = node.by_tag.get(tag)
            if found is None:
                return None
            node = found
        return node
