"""Validation of a configuration tree against the schema, returning every violation.

Tag choices where RFC 7950 §15 leaves room:
- a missing mandatory leaf is `missing-element` (error-info bad-element), like a missing key;
- state (config false) data inside configuration is `unknown-element`: it is not part of the
  configuration schema, so it is reported like any node that cannot appear there;
- type, range, length and pattern failures are `invalid-value` (RFC 7950), not netopeer2's
  bad-element.
level="syntax" is what RFC 7950 §8.3.1 checks while parsing an edit (values, unknown nodes,
keys, duplicate keys, a leaf given twice, state data); level="full" adds mandatory, when, must,
leafref (require-instance), min/max-elements — the commit-time checks of §8.3.3.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from hvd_netconf.errors import (
    BadElement,
    DataMissing,
    InvalidValue,
    MissingElement,
    OperationFailed,
    RpcError,
    UnknownElement,
    UnknownNamespace,
)
from hvd_netconf.keys import KINDS
from hvd_netconf.namespaces import PREFIXES
from hvd_netconf.schema.nodepath import check_node_path
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.paths import instance_path, leaf_path, quote
from hvd_netconf.schema.types import LeafrefTarget
from hvd_netconf.schema.xpath import YangXPath
from hvd_netconf.xmlparse import xpath_nodes

EntryKey = tuple[str, str]
Lookup = Callable[[EntryKey], "etree._Element | None"]
_Comment = etree._Comment
_KEY_VALUE = re.compile(r"""=(['"])(.*?)\1\]""")


class _Run:
    """State of one validate() call: errors, lazily built leafref target sets."""

    def __init__(self, schema: Schema, root: etree._Element, full: bool,
                 lookup: Lookup | None) -> None:
        self.schema = schema
        self.root = root
        self.full = full
        self.lookup = lookup
        self.errors: list[RpcError] = []
        self.targets: dict[int, set[str]] = {}
        self.leafrefs: list[tuple[etree._Element, SchemaNode]] = []
        self.in_use: set[etree._Element] = set()  # references already reported as users

    def path(self, el: etree._Element) -> str:
        return instance_path(self.schema, el)

    def user(self, el: etree._Element) -> str:
        """Who holds a reference, as the operator names it: the keys on its path (`vm1/nic0`)."""
        return "/".join(m[1] for m in _KEY_VALUE.findall(self.path(el))) or self.path(el)


def validate(schema: Schema, config_root: etree._Element,
             scope: Iterable[EntryKey] | None = None, level: str = "full",
             lookup: Lookup | None = None) -> list[RpcError]:
    """Every violation in `config_root` (a <config> element or any element whose children are
    module top-level nodes). With `scope`, only those entries ("vm", name) / ("network", name)
    and the references into and out of them are checked; `lookup(key)` (Datastore.get) finds an
    entry in O(1), otherwise one XPath per key finds it."""
    if level not in ("full", "syntax"):
        raise ValueError(f"bad validation level {level!r}")
    run = _Run(schema, config_root, level == "full", lookup)
    if scope is None:
        for el in config_root:
            if isinstance(el, _Comment):
                continue
            top = schema.by_tag.get(el.tag)
            if top is None:
                _unknown(run, el)
            elif not top.config:
                _state(run, el)
            else:
                _check_children(run, el, top)
        if run.full:
            for top in schema.tops:
                if top.config and config_root.find(top.tag) is None:
                    _absent(run, config_root, top, top_level=True)
    else:
        _check_scope(run, list(scope))
    if run.full:
        _check_leafrefs(run)
    return _once(run.errors)


def _once(errors: list[RpcError]) -> list[RpcError]:
    """A leafref into a deleted entry in scope is found from both ends: report it once."""
    seen: set[tuple[str, str | None, str]] = set()
    out = []
    for err in errors:
        key = (err.tag, err.path, err.message)
        if key not in seen:
            seen.add(key)
            out.append(err)
    return out


# ---- structure -------------------------------------------------------------------------

def _unknown(run: _Run, el: etree._Element) -> None:
    q = etree.QName(el)
    if q.namespace not in run.schema.namespaces:
        parent = el.getparent()
        run.errors.append(UnknownNamespace(
            f"element {q.localname!r} is in an unknown namespace {q.namespace!r}",
            path=run.path(parent) if parent is not None and parent is not run.root else "/",
            info=[("bad-element", q.localname),
                                     ("bad-namespace", q.namespace or "")]))
    else:
        run.errors.append(UnknownElement(f"unknown element {q.localname!r}",
                                         path=run.path(el), info=[("bad-element", q.localname)]))


def _state(run: _Run, el: etree._Element) -> None:
    name = etree.QName(el).localname
    run.errors.append(UnknownElement(
        f"{name!r} is state data (config false) and cannot be configured",
        path=run.path(el), info=[("bad-element", name)]))


# What a child is to its parent's walk, decided once per schema node (_rows).
_LEAF, _PATH, _CONTAINER, _MANY, _ANYDATA, _STATE = range(6)  # _PATH: a NACM node path
Row = tuple[SchemaNode, int, Callable[[str | None], str], bool]
_rows_cache: dict[int, tuple[SchemaNode, dict[str, Row]]] = {}


def _rows(node: SchemaNode) -> dict[str, Row]:
    """Per child tag: the child node, what it is, its type's check and whether full validation
    has more to check on a leaf (require-instance leafref, when, must). A commit walks every
    entry it touches, so the walk reads this table instead of asking each node again."""
    hit = _rows_cache.get(id(node))
    if hit is None or hit[0] is not node:
        rows: dict[str, Row] = {}
        for tag, cn in node.by_tag.items():
            yt = cn.type
            what = (_STATE if not cn.config else _ANYDATA if cn.kind == "anydata"
                    else (_PATH if yt is not None and yt.name == "node-instance-identifier"
                          else _LEAF) if cn.kind == "leaf"
                    else _CONTAINER if cn.kind == "container" else _MANY)
            more = (cn.when is not None or bool(cn.musts)
                    or (yt is not None and yt.base == "leafref" and yt.require_instance))
            rows[tag] = (cn, what, yt.check if yt is not None else str, more)
        hit = _rows_cache[id(node)] = (node, rows)
    return hit[1]


def _check_children(run: _Run, el: etree._Element, node: SchemaNode) -> None:
    """Check one container or list entry: its children, then what is missing from it."""
    rows = _rows(node)
    full = run.full
    seen: set[str] = set()
    lists: dict[str, list[etree._Element]] | None = None
    cases: dict[str, str] | None = None
    for child in el:
        tag = child.tag
        row = rows.get(tag)
        if row is None:
            if isinstance(child, _Comment):
                continue
            _unknown(run, child)
            continue
        cn, what, check, more = row
        if cn.case is not None:
            if cases is None:
                cases = {}
            if cases.setdefault(cn.case[0], cn.case[1]) != cn.case[1]:
                run.errors.append(BadElement(  # RFC 7950 §8.3.1
                    f"{cn.name!r} belongs to case {cn.case[1]!r} of choice {cn.case[0]!r}, "
                    f"but case {cases[cn.case[0]]!r} is already given",
                    path=run.path(child), info=[("bad-element", cn.name)]))
                seen.add(tag)  # present, if misplaced: not also "missing"
                continue
        if what <= _CONTAINER:  # _LEAF, _PATH or _CONTAINER
            if tag in seen:
                run.errors.append(BadElement(f"{cn.kind} {cn.name!r} is given more than once",
                                             path=run.path(child),
                                             info=[("bad-element", cn.name)]))
                continue
            seen.add(tag)
            if what == _CONTAINER:
                _check_children(run, child, cn)
                if full:
                    _when_must(run, child, cn)
                continue
            if len(child):
                run.errors.append(InvalidValue(f"leaf {cn.name!r} cannot have child elements",
                                               path=run.path(child)))
                continue
            try:
                check(child.text)
                if what == _PATH:
                    check_node_path(run.schema, child)
            except InvalidValue as exc:
                exc.path = run.path(child)
                run.errors.append(exc)
                continue
            if full and more:
                if cn.type.base == "leafref" and cn.type.require_instance:  # type: ignore[union-attr]
                    run.leafrefs.append((child, cn))
                _when_must(run, child, cn)
        elif what == _MANY:
            if lists is None:
                lists = {}
            lists.setdefault(tag, []).append(child)
        elif what == _STATE:
            _state(run, child)
    if lists:
        for tag, entries in lists.items():
            cn = rows[tag][0]
            if cn.kind == "list":
                _check_list(run, entries, cn)
            else:
                _check_leaf_list(run, entries, cn)
    if full:
        for cn in _needed(node):
            if cn.tag not in seen and (lists is None or cn.tag not in lists):
                if cn.case is not None and not _case_present(el, node, cn.case):
                    continue  # mandatory only once its case is chosen (RFC 7950 §7.9.4)
                _absent(run, el, cn)


def _case_present(el: etree._Element, node: SchemaNode, case: tuple[str, str]) -> bool:
    for child in el:
        cn = node.by_tag.get(child.tag)
        if cn is not None and cn.case == case:
            return True
    return False


def _absent(run: _Run, parent: etree._Element, cn: SchemaNode, top_level: bool = False
            ) -> None:
    """A node with no instance: mandatory leaves, min-elements, np-containers' insides."""
    if cn.when is not None and not _when_true_absent(run, parent, cn):
        return
    if cn.kind == "leaf" and cn.mandatory:
        run.errors.append(MissingElement(
            f"mandatory leaf {cn.name!r} is missing",
            path=(f"/{cn.prefix}:{cn.name}" if top_level else leaf_path(run.schema, parent, cn)),
            info=[("bad-element", cn.name)]))
    elif cn.kind in ("list", "leaf-list") and cn.min_elements:
        run.errors.append(OperationFailed(
            f"{cn.name!r} needs at least {cn.min_elements} entries", app_tag="too-few-elements",
            path=leaf_path(run.schema, parent, cn)))
    elif cn.kind == "container" and not cn.presence and _has_mandatory(cn):
        holder = etree.SubElement(parent, cn.tag)
        try:
            for c in _needed(cn):
                if c.case is None:  # an absent container has no case chosen
                    _absent(run, holder, c)
        finally:
            parent.remove(holder)


_needed_cache: dict[int, list[SchemaNode]] = {}


def _needed(node: SchemaNode) -> list[SchemaNode]:
    """Children whose absence is an error: mandatory, min-elements, or np-containers of such."""
    hit = _needed_cache.get(id(node))
    if hit is None:
        hit = _needed_cache[id(node)] = [
            c for c in node.children
            if c.config and (c.mandatory or c.min_elements
                             or (c.kind == "container" and not c.presence and _needed(c)))]
    return hit


def _has_mandatory(node: SchemaNode) -> bool:
    return bool(_needed(node))


def _check_leaf_list(run: _Run, entries: list[etree._Element], cn: SchemaNode) -> None:
    values: set[str] = set()
    for el in entries:
        try:
            v = cn.type.check(el.text)  # type: ignore[union-attr]
        except InvalidValue as exc:
            exc.path = run.path(el)
            run.errors.append(exc)
            continue
        if v in values:
            run.errors.append(OperationFailed(
                f"value {v!r} appears twice in leaf-list {cn.name!r}", app_tag="data-not-unique",
                path=run.path(el)))
        values.add(v)
        if run.full:
            if cn.type.base == "leafref" and cn.type.require_instance:  # type: ignore[union-attr]
                run.leafrefs.append((el, cn))
            _when_must(run, el, cn)
    if run.full:
        _count(run, entries, cn)


def _first(el: etree._Element, tag: str) -> etree._Element | None:
    """el.find(tag) for a plain tag, without find's path parsing (keys usually come first)."""
    for child in el:
        if child.tag == tag:
            return child
    return None


def _check_list(run: _Run, entries: list[etree._Element], cn: SchemaNode) -> None:
    # One entry (a commit's scope checks entries one by one) cannot repeat a key: only the
    # keys' presence is checked then; their values are checked as the entry's leaves.
    keys_seen: set[tuple[str, ...]] | None = set() if len(entries) > 1 else None
    key_nodes = cn.key_nodes
    for el in entries:
        key: list[str] = []
        for kn in key_nodes:
            k = _first(el, kn.tag)
            if k is None:
                run.errors.append(MissingElement(
                    f"list {cn.name!r} entry lacks its key {kn.name!r}",
                    path=leaf_path(run.schema, el, kn), info=[("bad-element", kn.name)]))
                break
            if keys_seen is None:
                continue
            try:
                key.append(kn.type.check(k.text))  # type: ignore[union-attr]
            except InvalidValue:
                key.append(k.text or "")
        else:
            if keys_seen is not None:
                t = tuple(key)
                if t in keys_seen:
                    run.errors.append(OperationFailed(
                        f"{cn.name} {' '.join(key)!r} is given more than once",
                        app_tag="data-not-unique", path=run.path(el)))
                    continue
                keys_seen.add(t)
        _check_children(run, el, cn)
        if run.full:
            _when_must(run, el, cn)
    if run.full:
        _count(run, entries, cn)


def _count(run: _Run, entries: list[etree._Element], cn: SchemaNode) -> None:
    if cn.max_elements is not None and len(entries) > cn.max_elements:
        run.errors.append(OperationFailed(
            f"{cn.name!r} has {len(entries)} entries, at most {cn.max_elements} are allowed",
            app_tag="too-many-elements", path=run.path(entries[cn.max_elements])))
    if len(entries) < cn.min_elements:
        run.errors.append(OperationFailed(
            f"{cn.name!r} has {len(entries)} entries, at least {cn.min_elements} are needed",
            app_tag="too-few-elements", path=run.path(entries[0])))


# ---- when / must -------------------------------------------------------------------------

_default_refs: dict[tuple[int, int], list[list[tuple[str, SchemaNode | None]]]] = {}


def _refs(node: SchemaNode, xp: YangXPath) -> list[list[tuple[str, SchemaNode | None]]]:
    """Relative paths of the expression that end at a leaf with a default, resolved once."""
    k = (id(node), id(xp))
    hit = _default_refs.get(k)
    if hit is None:
        hit = []
        for steps in xp.rel_steps:
            cur: SchemaNode | None = node
            ops: list[tuple[str, SchemaNode | None]] = []
            for ns, local in steps:
                if cur is None:
                    break
                if local == "..":
                    cur = cur.parent
                    ops.append(("..", None))
                else:
                    cur = cur.child(ns, local)
                    ops.append((f"{{{ns}}}{local}", cur))
            else:
                if cur is not None and cur.kind == "leaf" and cur.default is not None and ops:
                    hit.append(ops)
        _default_refs[k] = hit
    return hit


def evaluate(xp: YangXPath, node: SchemaNode, el: etree._Element, root: etree._Element
             ) -> bool:
    """An expression's boolean value with `el` as context; defaults it reads are put in place
    for the evaluation (RFC 7950 §6.4.1: the accessible tree holds default values)."""
    added: list[etree._Element] = []
    try:
        for ops in _refs(node, xp):
            cur: etree._Element | None = el
            for i, (step, sn) in enumerate(ops):
                if cur is None:
                    break
                if step == "..":
                    cur = cur.getparent()
                    continue
                nxt = cur.find(step)
                if nxt is None and i == len(ops) - 1 and sn is not None:
                    nxt = etree.SubElement(cur, step)
                    nxt.text = sn.default
                    added.append(nxt)
                cur = nxt
        result: Any = xp(el, root)
    finally:
        for a in added:
            parent = a.getparent()
            assert parent is not None  # each was added under an element above
            parent.remove(a)
    if isinstance(result, list):
        return bool(result)
    return bool(result)


def when_true(cn: SchemaNode, parent: etree._Element, root: etree._Element) -> bool:
    """Would `cn`'s when hold for an instance under `parent`? (True without a when.)"""
    if cn.when is None:
        return True
    holder = etree.SubElement(parent, cn.tag)
    try:
        return evaluate(cn.when, cn, holder, root)
    finally:
        parent.remove(holder)


def _when_true_absent(run: _Run, parent: etree._Element, cn: SchemaNode) -> bool:
    return when_true(cn, parent, run.root)


def _when_must(run: _Run, el: etree._Element, cn: SchemaNode) -> None:
    if cn.when is not None and not evaluate(cn.when, cn, el, run.root):
        run.errors.append(UnknownElement(
            f"{cn.name!r} is not allowed here: its condition {cn.when.text!r} is false",
            path=run.path(el), info=[("bad-element", cn.name)]))
        return
    for must in cn.musts:
        if not evaluate(must, cn, el, run.root):
            run.errors.append(OperationFailed(
                must.error_message or f"condition {must.text!r} is false",
                app_tag=must.error_app_tag or "must-violation", path=run.path(el)))


# ---- leafrefs ----------------------------------------------------------------------------

def _target_values(run: _Run, el: etree._Element, cn: SchemaNode) -> set[str] | None:
    """Values the leafref may take, or None when its path is too complex to walk."""
    yt = cn.type
    steps = _leafref_steps(cn)
    if steps is None:
        return None
    absolute, ops = steps
    if absolute:
        hit = run.targets.get(id(cn.type))
        if hit is not None:
            return hit
        cur = [run.root]
    else:
        cur = [el]
    for op in ops:
        if op == "..":
            cur = [p for p in (c.getparent() for c in cur) if p is not None]
        else:
            cur = [x for c in cur for x in c.iterchildren(op)]
    tt = yt.target.type if yt is not None and yt.target is not None else None
    vals = set()
    for c in cur:
        try:
            vals.add(tt.check(c.text) if tt is not None else (c.text or ""))
        except InvalidValue:
            continue
    if absolute:
        run.targets[id(cn.type)] = vals
    return vals


_steps_cache: dict[int, tuple[bool, list[str]] | None] = {}


def _leafref_steps(cn: SchemaNode) -> tuple[bool, list[str]] | None:
    k = id(cn)
    if k in _steps_cache:
        return _steps_cache[k]
    path = cn.type.leafref_path or ""  # type: ignore[union-attr]
    out: tuple[bool, list[str]] | None
    if "[" in path or not path:
        out = None
    else:
        absolute = path.startswith("/")
        ops = []
        node: SchemaNode | None = cn
        ok = True
        for part in path.strip("/").split("/"):
            part = part.strip()
            if part == "..":
                ops.append("..")
                node = node.parent if node is not None else None
                continue
            local = part.split(":")[-1]
            target = cn.type.target  # type: ignore[union-attr]
            ns = _step_ns(cn, part, target)
            if ns is None:
                ok = False
                break
            ops.append(f"{{{ns}}}{local}")
        out = (absolute, ops) if ok else None
    _steps_cache[k] = out
    return out


def _step_ns(cn: SchemaNode, part: str, target: LeafrefTarget | None) -> str | None:
    """Namespace of a path step: its prefix names a module hvd knows, else the leaf's own."""
    if ":" not in part:
        return cn.ns
    prefix = part.split(":")[0]
    if prefix in PREFIXES:
        return PREFIXES[prefix]
    if target is not None and target.prefix == prefix:
        return target.ns
    return None


def _check_leafrefs(run: _Run) -> None:
    """References to entries that do not exist: one error per missing entry, naming its users."""
    missing: dict[tuple[str, str], list[etree._Element]] = {}
    for el, cn in run.leafrefs:
        if el in run.in_use:
            continue
        vals = _target_values(run, el, cn)
        if vals is None:
            continue
        try:
            v = cn.type.check(el.text)  # type: ignore[union-attr]
        except InvalidValue:
            continue
        if v not in vals:
            parent = getattr(cn.type.target, "parent", None)  # type: ignore[union-attr]
            missing.setdefault((parent.name if parent is not None else cn.name, v), []).append(el)
    for (what, v), users in missing.items():
        _report_users(run, what, v, users)


def _report_users(run: _Run, what: str, name: str, users: list[etree._Element]) -> None:
    run.in_use.update(users)
    run.errors.append(DataMissing(
        f"{what} {name} is used by {', '.join(run.user(el) for el in users)} but is not in "
        "the configuration", app_tag="instance-required", path=run.path(users[0])))


# ---- scope -------------------------------------------------------------------------------

def _entry_lists(schema: Schema) -> dict[str, SchemaNode]:
    """Entry kinds of the /hv tree: the list directly under each top-level container."""
    out = {}
    for top in schema.tops:
        for c in top.children:
            if c.kind == "list" and top.config:
                out[c.name] = c
    return out


def _find_entry(run: _Run, lst: SchemaNode, name: str) -> list[etree._Element]:
    if run.lookup is not None:
        el = run.lookup((lst.name, name))
        return [el] if el is not None else []
    key = lst.key_nodes[0]
    xp = etree.XPath(f"$r/p:{lst.parent.name}/p:{lst.name}[p:{key.name}=$v]",  # type: ignore[union-attr]
                     namespaces={"p": lst.ns})
    return xpath_nodes(xp, run.root, r=run.root, v=name)


_SINGLETONS = {k.name: k.container_tag for k in KINDS.values() if k.singleton}


def _check_scope(run: _Run, scope: list[EntryKey]) -> None:
    lists = _entry_lists(run.schema)
    for kind, name in scope:
        tag = _SINGLETONS.get(kind)
        if tag is not None:
            _check_singleton(run, (kind, name), tag)
            continue
        lst = lists.get(kind)
        if lst is None:
            raise ValueError(f"unknown entry kind {kind!r}")
        entries = _find_entry(run, lst, name)
        for el in entries:
            parent = el.getparent()
            if parent is None or parent.getparent() is None:
                raise ValueError("scoped entries must sit inside the validated tree")
        if entries:
            _check_list(run, entries, lst)
        if run.full and not entries:
            _check_references_into(run, lst, name)


def _check_singleton(run: _Run, key: EntryKey, tag: str) -> None:
    """A top-level container that is one entry as a whole (hvd_netconf.keys): check all of it."""
    top = run.schema.by_tag.get(tag)
    if top is None:
        raise ValueError(f"no top-level node {tag} for entry {key!r}")
    el = run.lookup(key) if run.lookup is not None else run.root.find(tag)
    if el is not None:
        _check_children(run, el, top)
        if run.full:
            _when_must(run, el, top)
    elif run.full:
        _absent(run, run.root, top, top_level=True)


def _check_references_into(run: _Run, lst: SchemaNode, name: str) -> None:
    """A deleted entry still referenced: one error naming every user (found by one XPath per
    leafref source), at the first user's path."""
    key = lst.key_nodes[0]
    users: list[etree._Element] = []
    for top in run.schema.tops:
        for src in top.walk():
            yt = src.type
            if yt is None or yt.base != "leafref" or yt.target is not key or not src.config:
                continue
            users += xpath_nodes(_ref_finder(src), run.root, r=run.root, v=name)
    if users:
        _report_users(run, lst.name, name, users)


_finders: dict[int, etree.XPath] = {}


def _ref_finder(src: SchemaNode) -> etree.XPath:
    """`$r/p0:vms/p0:vm/p0:nic/p0:network[. = $v]` for one leafref source node."""
    hit = _finders.get(id(src))
    if hit is None:
        chain = []
        n: SchemaNode | None = src
        nss: dict[str, str] = {}
        while n is not None:
            p = f"n{len(nss)}" if n.ns not in nss.values() else next(
                k for k, v in nss.items() if v == n.ns)
            nss[p] = n.ns
            chain.append(f"{p}:{n.name}")
            n = n.parent
        hit = _finders[id(src)] = etree.XPath("$r/" + "/".join(reversed(chain)) + "[. = $v]",
                                              namespaces=nss)
    return hit


__all__ = ["evaluate", "quote", "validate", "when_true"]
