"""Seeded configuration documents for the differential test against yanglint, generated from
the loaded schema (hvd_netconf.schema): a plausible instance document, then at most one
mutation of it. Whether a document is valid is not decided here: yanglint and hvd each say.

Leaf values come from candidates per type (enum names, range bounds and their neighbours,
lengths at their limits, the YANG defaults, strings seen in tests/schema/corpus); a "plain"
value is a candidate hvd's own type check accepts, a "wild" one is any candidate at all.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.types import INT_BOUNDS, YangType

CORPUS = Path(__file__).resolve().parent / "corpus"
JUNK = ["", " ", "a/b", "..", "-a", "a b", "x" * 300, "\u00e9t\u00e9", "0", "-1", "true",
        "nope", "1.5", "4294967296"]
STRINGS = ["a", "web1", "lan", "igb0", "em0.10", "root", "data", "nic0", "*", "hvd-vm",
           "edit-config", "admin", "58:9c:fc:00:00:01", "0b5e7c9a-1f2e-4d3c-8b7a-6c5d4e3f2a1b",
           "/iso/a.iso", "10G", "512M", "hd0,gpt2",
           # NACM paths that are not valid (see PATHS)
           "/v:vms/v:vm/v:disk[v:name='d'][v:name='e']", "/v:vms/v:vm[1]", "/v:vms/vm",
           "/v:vms/v:bogus", "/v:vms/", "v:vms", "/x:vms"]
# NACM rule paths (node-instance-identifier) that are valid with PATH_PREFIXES in scope.
PATHS = ["/", "/v:vms", "/v:vms/v:vm[v:name='a']/v:cpu", "/n:networks/n:network",
         "/v:vms/v:vm/v:nic[v:name='n'][v:network='lan']", "/v:vms/v:vm/v:state",
         "/nacm:nacm/nacm:groups/nacm:group/nacm:user-name[.='a']"]
UNKNOWN_NS = "urn:hvd:test:unknown"
# Declared on every document, so NACM paths use prefixes in scope (RFC 7950 §9.13).
PATH_PREFIXES = {"v": "urn:hvd:vm", "n": "urn:hvd:network",
                 "nacm": "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"}


def corpus_strings() -> list[str]:
    seen: set[str] = set()
    for f in sorted(CORPUS.glob("*.xml")):
        root = etree.fromstring(b"<r>" + f.read_bytes() + b"</r>")
        for el in root.iter():
            if el.text and el.text.strip() and not len(el):
                seen.add(el.text)
    return sorted(seen)


def _ints(yt: YangType) -> list[str]:
    lo, hi = INT_BOUNDS[yt.base]
    out = {lo, hi, lo - 1, hi + 1, 0, 1}
    for r in yt.ranges:
        for part in r.text.split("|"):
            for b in part.split(".."):
                b = b.strip()
                if b not in ("min", "max"):
                    v = int(b)
                    out |= {v - 1, v, v + 1}
    return [str(v) for v in sorted(out)]


def _lengths(yt: YangType) -> list[str]:
    out = []
    for r in yt.lengths:
        for part in r.text.split("|"):
            for b in part.split(".."):
                b = b.strip()
                if b.isdigit() and int(b) < 2000:
                    n = int(b)
                    out += ["a" * n, "a" * (n + 1)] + (["a" * (n - 1)] if n else [])
    return out


def candidates(yt: YangType, pool: list[str]) -> list[str]:
    """Every value worth trying for a type, valid or not."""
    if yt.base == "union":
        return sorted({v for m in yt.members for v in candidates(m, pool)})
    if yt.base in INT_BOUNDS:
        return _ints(yt)
    if yt.base == "boolean":
        return ["true", "false", "TRUE", "1"]
    if yt.base == "enumeration":
        return [*yt.enums, "bogus", " " + next(iter(yt.enums))]
    if yt.base == "bits":
        names = list(yt.bits)
        return ["", *names, " ".join(names), f"{names[0]} {names[0]}", "bogus"]
    if yt.base == "empty":
        return ["", "x"]
    return pool + _lengths(yt)


class Generator:
    """Documents for the config top-level containers of `modules`, from one seed."""

    def __init__(self, schema: Schema, modules: tuple[str, ...], seed: int) -> None:
        self.schema = schema
        self.tops = [t for t in schema.tops if t.config and t.module in modules]
        self.rng = random.Random(seed)
        self.pool = sorted(set(corpus_strings()) | set(STRINGS) | set(JUNK) | set(PATHS))
        self._cands: dict[int, tuple[list[str], list[str]]] = {}

    # ---- values ------------------------------------------------------------------------

    def _values(self, node: SchemaNode) -> tuple[list[str], list[str]]:
        """(plain, wild) candidates of a leaf or leaf-list."""
        hit = self._cands.get(id(node))
        if hit is None:
            yt = node.type
            assert yt is not None
            wild = candidates(yt, self.pool)
            if yt.name == "node-instance-identifier":
                return self._cands.setdefault(id(node), (PATHS, PATHS + wild))
            if node.default is not None:
                wild.append(node.default)
            plain = []
            for v in wild:
                try:
                    yt.check(v)
                except InvalidValue:
                    continue
                plain.append(v)
            hit = self._cands[id(node)] = (plain or wild, wild)
        return hit

    def plain(self, node: SchemaNode) -> str:
        return self.rng.choice(self._values(node)[0])

    def wild(self, node: SchemaNode) -> str:
        return self.rng.choice(self._values(node)[1])

    # ---- instance documents ----------------------------------------------------------

    def document(self) -> etree._Element:
        """A <config> holding some of the top-level containers, filled plausibly."""
        root = etree.Element("config", nsmap=PATH_PREFIXES)
        for top in self.tops:
            if self.rng.random() < 0.8:
                self._fill(etree.SubElement(root, top.tag, nsmap={None: top.ns}), top)
        self._resolve_leafrefs(root)
        return root

    def _fill(self, el: etree._Element, node: SchemaNode) -> None:
        chosen: dict[str, tuple[str, str]] = {}  # choice -> the case this instance took
        for c in node.children:
            if not c.config:
                continue
            if c.case is not None:
                choice, case = c.case
                chosen.setdefault(choice, (case, self.rng.choice(
                    [x.case[1] for x in node.children if x.case and x.case[0] == choice])))
                if chosen[choice][1] != case:
                    continue
            # a node under a condition is mostly left out, so that most documents are valid
            odds = 0.08 if c.when is not None or c.musts else 0.5
            if c.kind in ("leaf", "leaf-list", "container") and not (
                    c.mandatory or c.is_key or self.rng.random() < odds):
                continue
            if c.kind == "leaf":
                etree.SubElement(el, c.tag).text = self.plain(c)
            elif c.kind == "container":
                self._fill(etree.SubElement(el, c.tag), c)
            elif c.kind == "leaf-list":
                values = self._values(c)[0]
                for v in self.rng.sample(values, min(len(values), self.rng.randint(1, 3))):
                    etree.SubElement(el, c.tag).text = v
            elif c.kind == "list":
                self._entries(el, c)

    def _entries(self, el: etree._Element, node: SchemaNode) -> None:
        top = node.max_elements if node.max_elements is not None else 4
        guarded = node.musts or any(c.musts for c in node.children)
        if guarded and not node.min_elements and self.rng.random() < 0.9:
            return  # entries under a must are mostly left out, as conditional leaves are
        keys_seen: set[tuple[str, ...]] = set()
        for _ in range(self.rng.randint(node.min_elements, min(top, 4))):
            entry = etree.SubElement(el, node.tag)
            self._fill(entry, node)
            key = tuple(entry.findtext(k.tag) or "" for k in node.key_nodes)
            if key in keys_seen:
                el.remove(entry)
            keys_seen.add(key)

    def _resolve_leafrefs(self, root: etree._Element) -> None:
        """Point leafrefs at instances that exist, when there are any."""
        for el, node in list(self._leaves(root)):
            yt = node.type
            if yt is None or yt.base != "leafref" or yt.leafref_path is None:
                continue
            targets = _targets(el, yt.leafref_path, root)
            if self.rng.random() < 0.03:
                continue
            if targets:
                el.text = self.rng.choice(targets)
            elif not node.mandatory:
                el.getparent().remove(el)

    def _leaves(self, root: etree._Element) -> Iterator[tuple[etree._Element, SchemaNode]]:
        for el in root.iter():
            node = self.schema.find(el) if el is not root else None
            if node is not None and node.kind in ("leaf", "leaf-list"):
                yield el, node

    # ---- mutations -------------------------------------------------------------------

    def mutated(self) -> tuple[str, etree._Element]:
        """A document and the mutation applied to it ("none" for about a third)."""
        doc = self.document()
        name = self.rng.choice(list(MUTATIONS))
        return (name, doc) if MUTATIONS[name](self, doc) else ("none", doc)

    def _pick(self, doc: etree._Element, kinds: tuple[str, ...]
              ) -> tuple[etree._Element, SchemaNode] | None:
        els = [(e, n) for e in doc.iter() if e is not doc
               for n in [self.schema.find(e)] if n is not None and n.kind in kinds]
        return self.rng.choice(els) if els else None


def _targets(el: etree._Element, path: str, root: etree._Element) -> list[str]:
    steps = [s.strip().split(":")[-1] for s in path.strip("/").split("/")]
    cur = [root] if path.startswith("/") else [el]
    for s in steps:
        if s == "..":
            cur = [p for c in cur if (p := c.getparent()) is not None]
        else:
            cur = [x for c in cur for x in c if etree.QName(x).localname == s]
    return [c.text for c in cur if c.text]


Mutation = Callable[["Generator", etree._Element], bool]
LEAVES = ("leaf", "leaf-list")
INNER = ("container", "list")
ANY = (*LEAVES, *INNER)


def _on(*kinds: str) -> Callable[[Callable[..., object]], Mutation]:
    """A mutation of one node of `kinds`, picked at random; False when the document has none."""
    def wrap(change: Callable[..., object]) -> Mutation:
        def mutate(g: Generator, doc: etree._Element) -> bool:
            hit = g._pick(doc, kinds)
            if hit is None:
                return False
            change(g, *hit)
            return True
        return mutate
    return wrap


@_on(*LEAVES)
def _wild_value(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    el.text = g.wild(node)


@_on(*LEAVES)
def _junk_value(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    el.text = g.rng.choice(JUNK)


@_on(*ANY)
def _drop(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    """Remove any node: a key, a mandatory leaf, a leafref's target."""
    el.getparent().remove(el)


@_on(*ANY)
def _repeat(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    """Give a node twice: a list entry (maybe changed inside), a leaf, a container."""
    twin = copy.deepcopy(el)
    for leaf in twin.iter():
        if len(leaf) == 0 and leaf is not twin and g.rng.random() < 0.3:
            leaf.text = g.rng.choice(g.pool)
    el.addnext(twin)


@_on(*INNER)
def _unknown_element(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    ns = g.rng.choice([UNKNOWN_NS, node.ns])
    etree.SubElement(el, f"{{{ns}}}bogus").text = "1"


@_on(*INNER)
def _foreign_namespace(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    """A child the schema has here, in another module's namespace."""
    child = g.rng.choice(node.children)
    other = g.rng.choice([t.ns for t in g.tops if t.ns != node.ns] or [UNKNOWN_NS])
    etree.SubElement(el, f"{{{other}}}{child.name}").text = "a"


@_on(*ANY)
def _unknown_attribute(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    el.set(g.rng.choice(["color", f"{{{UNKNOWN_NS}}}color", f"{{{node.ns}}}color"]), "red")


@_on(*INNER)
def _text_inside(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    if len(el) and g.rng.random() < 0.5:
        el[-1].tail = "junk"
    else:
        el.text = g.rng.choice(["junk", " junk ", "\n  \n"])  # the last one is allowed


@_on(*INNER)
def _shuffle(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    """Children in another order, keys last included (allowed in a data tree)."""
    kids = list(el)
    g.rng.shuffle(kids)
    el[:] = kids


@_on("leaf")
def _child_in_leaf(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    etree.SubElement(el, el.tag).text = "x"


@_on(*INNER)
def _state_data(g: Generator, el: etree._Element, node: SchemaNode) -> None:
    state = [c for c in node.children if not c.config]
    if state:
        etree.SubElement(el, state[0].tag)


def _dangling(g: Generator, doc: etree._Element) -> bool:
    refs = [(e, n) for e, n in g._leaves(doc) if n.type is not None
            and n.type.base == "leafref"]
    if not refs:
        return False
    g.rng.choice(refs)[0].text = "nosuch"
    return True


def _other_case(g: Generator, doc: etree._Element) -> bool:
    """Add a node of another case of a choice already taken."""
    for el in doc.iter():
        node = g.schema.find(el) if el is not doc else None
        if node is None:
            continue
        taken = {n.case for c in el for n in [node.by_tag.get(c.tag)] if n and n.case}
        others = [c for c in node.children if c.case and c.case[0] in {t[0] for t in taken}
                  and c.case not in taken and c.kind == "leaf"]
        if others:
            c = g.rng.choice(others)
            etree.SubElement(el, c.tag).text = g.plain(c)
            return True
    return False


MUTATIONS: dict[str, Mutation] = {
    "none": lambda g, d: False, "none2": lambda g, d: False, "none3": lambda g, d: False,
    "wild-value": _wild_value, "junk-value": _junk_value, "drop": _drop, "repeat": _repeat,
    "unknown-element": _unknown_element, "foreign-namespace": _foreign_namespace,
    "unknown-attribute": _unknown_attribute, "text-inside": _text_inside,
    "shuffle": _shuffle, "child-in-leaf": _child_in_leaf, "state-data": _state_data,
    "dangling-leafref": _dangling, "other-case": _other_case,
}


def body(doc: etree._Element) -> bytes:
    """The top-level containers side by side, as yanglint reads a file."""
    return b"".join(etree.tostring(c) for c in doc)  # each top carries the declarations


__all__ = ["MUTATIONS", "Generator", "body"]
