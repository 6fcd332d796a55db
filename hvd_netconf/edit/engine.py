"""The edit-config engine: RFC 6241 §7.2 and RFC 7950 §7 edits applied in place to a <config> tree.

It is pure (no I/O, no server): the caller gives the target tree and the schema, the engine
changes the tree and keeps a journal. Each top-level list entry (a VM, a network) is copied the
first time the edit changes it (a singleton container such as /nacm is one entry as a
whole, hvd_netconf.keys), so undoing the edit (rollback-on-error, test-only, a failed
validation or apply) restores exactly what was there, and the set of touched entries tells
validation, apply and the durable commit what to look at: the cost is O(change), not O(store).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lxml import etree

from hvd_netconf.edit import paths
from hvd_netconf.edit.content import check_content
from hvd_netconf.errors import (
    BadAttribute,
    BadElement,
    DataExists,
    DataMissing,
    InvalidValue,
    MissingAttribute,
    MissingElement,
    OperationNotSupported,
    RpcError,
    UnknownElement,
    UnknownNamespace,
)
from hvd_netconf.keys import BY_CONTAINER, KINDS
from hvd_netconf.namespaces import BASE, YANG_ATTR, default_ns
from hvd_netconf.store.order import drop_sorted, insert_sorted

IETF = "urn:ietf:params:xml:ns:yang:"  # the namespaces of the IETF's modules
OPERATIONS = ("merge", "replace", "create", "delete", "remove")
FRESH_OPERATIONS = ("merge", "replace", "create")  # what makes an entry that does not exist
DEFAULT_OPERATIONS = ("merge", "replace", "none")
ERROR_OPTIONS = ("stop-on-error", "continue-on-error", "rollback-on-error")
ALL = "all"

OP_ATTR = f"{{{BASE}}}operation"
INSERT_ATTR = f"{{{YANG_ATTR}}}insert"
KEY_ATTR = f"{{{YANG_ATTR}}}key"
VALUE_ATTR = f"{{{YANG_ATTR}}}value"

EntryKey = tuple[str, str]
Touched = set[Any]  # EntryKey items, or ALL
# Top-level containers that are one entry as a whole, tag -> entry key.
SINGLETONS: dict[str, EntryKey] = {k.container_tag: (k.name, k.name)
                                   for k in KINDS.values() if k.singleton}


class SchemaNode(Protocol):
    """The part of the schema helper's node API the engine uses."""

    kind: str
    name: str
    ns: str
    keys: tuple[str, ...]
    config: bool
    ordered_by_user: bool
    @property
    def by_tag(self) -> Mapping[str, SchemaNode]:  # children by Clark tag, as child() finds
        ...

    def child(self, ns: str, name: str) -> SchemaNode | None: ...

    @property
    def children(self) -> Iterable[SchemaNode]: ...

    def check_value(self, text: str | None) -> str: ...


class Schema(Protocol):
    def top(self, ns: str, name: str) -> SchemaNode | None: ...


Lookup = Callable[[EntryKey], "etree._Element | None"]


def entry_key(list_name: str, keyvals: Iterable[str]) -> EntryKey:
    return (list_name, " ".join(keyvals))


def known_namespaces(schema: Any) -> frozenset[str]:
    mods = getattr(schema, "modules", None) or ()
    return frozenset(m.namespace for m in mods)


class _Slow(Exception):
    """The fast path met something only the general path handles (or reports)."""


def _plain_value(snode: SchemaNode, c: etree._Element) -> str:
    """The canonical value of a leaf element, or _Slow when the general path would fail."""
    if len(c):
        raise _Slow
    try:
        return snode.check_value(c.text or "")
    except RpcError:
        raise _Slow from None


_QUALIFIED_BASES = ("instance-identifier", "identityref")
_PREFIX_USE = re.compile(r"([A-Za-z_][\w.-]*):")


def _qualified(snode: SchemaNode) -> bool:
    """A leaf whose value holds XML prefixes (RFC 7950 §9.10.3, §9.13; RFC 8341's NACM path):
    the value means something only with the declarations in scope where it was written."""
    yt = getattr(snode, "type", None)
    return yt is not None and (yt.base in _QUALIFIED_BASES
                               or yt.name == "node-instance-identifier")


def _declarations(c: etree._Element, value: str) -> dict[str, str]:
    """The namespace declarations in scope of `c` that `value` uses, to carry into the target."""
    nsmap = c.nsmap
    return {p: nsmap[p] for p in set(_PREFIX_USE.findall(value)) if p in nsmap}


def _what(snode: SchemaNode, keyvals: list[str]) -> str:
    """A list entry as error messages name it: `vm 'web'` (built only for an error)."""
    return f"{snode.name} {' '.join(keyvals)!r}"


def _plain_keys(snode: SchemaNode, c: etree._Element) -> tuple[list[str], list[str]]:
    """The key tags and canonical key values of a list entry given plainly (each key once,
    without attributes), or _Slow."""
    keytags = [f"{{{snode.ns}}}{k}" for k in snode.keys]
    keyvals = []
    for kt in keytags:
        kel = _first(c, kt)
        if kel is None or kel.attrib:
            raise _Slow
        keyvals.append(_plain_value(snode.by_tag[kt], kel))
    return keytags, keyvals


def _first(el: etree._Element, tag: str) -> etree._Element | None:
    """el.find(tag) for a plain tag, without find's path parsing (keys usually come first)."""
    for child in el:
        if child.tag == tag:
            return child
    return None


@dataclass
class _Entry:
    """A top-level list entry this edit has looked at; `el` follows it through the edit."""

    key: EntryKey
    parent: etree._Element
    el: etree._Element | None
    touched: bool = False


@dataclass
class EditResult:
    """What the edit did; `errors` non-empty means it failed (already undone unless continued)."""

    touched: Touched = field(default_factory=set)
    before: dict[EntryKey, etree._Element | None] = field(default_factory=dict)
    errors: list[RpcError] = field(default_factory=list)
    # New entries the fast path built from plain content and nothing changed since: they pass
    # syntax validation by construction (known config nodes, valid values, nothing repeated).
    checked: set[EntryKey] = field(default_factory=set)
    _undo: list[Callable[[], None]] = field(default_factory=list, repr=False)
    _entries: dict[EntryKey, _Entry] = field(default_factory=dict, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self._undo)

    @property
    def scope(self) -> set[EntryKey] | None:
        """The touched entries for validation and commit; None means the whole datastore."""
        return None if ALL in self.touched else set(self.touched)

    @property
    def syntax_scope(self) -> set[EntryKey] | None:
        """The scope minus what syntax validation need not look at again (`checked`)."""
        return None if ALL in self.touched else self.touched - self.checked

    def after(self, key: EntryKey) -> etree._Element | None:
        entry = self._entries.get(key)
        return entry.el if entry is not None else None

    @classmethod
    def chain(cls, results: list[EditResult]) -> EditResult:
        """Edits applied one after another to the same target, as one edit: what the first
        found before, what the last left after, undone last edit first."""
        out = cls()
        for res in results:
            out.touched |= res.touched
            for key, before in res.before.items():
                out.before.setdefault(key, before)
            out._undo.extend(res._undo)
            out._entries.update(res._entries)
        return out

    def undo(self) -> None:
        """Put the target back exactly as it was before the edit (idempotent)."""
        while self._undo:
            self._undo.pop()()
        self.touched.clear()
        self.before.clear()
        self.checked.clear()


def edit_config(
    schema: Schema,
    root: etree._Element,
    config: etree._Element,
    *,
    default_operation: str = "merge",
    error_option: str = "stop-on-error",
    lookup: Lookup | None = None,
) -> EditResult:
    """Apply the <config> element to `root` in place.

    `lookup(key)` finds a top-level entry of `root` as it was before the edit in O(1) (the
    datastore's index); without it the engine indexes each top-level list once. On
    stop-on-error and rollback-on-error the first error undoes the whole edit, so the target is
    never left half-edited; continue-on-error keeps what succeeded and reports every error.
    """
    if default_operation not in DEFAULT_OPERATIONS:
        raise InvalidValue(f"default-operation must be one of {', '.join(DEFAULT_OPERATIONS)}",
                           error_type="protocol")
    if error_option not in ERROR_OPTIONS:
        raise InvalidValue(f"error-option must be one of {', '.join(ERROR_OPTIONS)}",
                           error_type="protocol")
    result = EditResult()
    engine = _Engine(schema, root, result, error_option == "continue-on-error", lookup)
    try:
        check_content(schema, config)
        engine.run(config, default_operation)
    except RpcError as exc:
        result.undo()
        result.errors = [exc]
    return result


class _Engine:
    def __init__(self, schema: Schema, root: etree._Element, result: EditResult,
                 keep_going: bool, lookup: Lookup | None) -> None:
        self.schema = schema
        self.root = root
        self.result = result
        self.keep_going = keep_going
        self.lookup = lookup
        self.namespaces = known_namespaces(schema)
        self.rebuilt: set[str] = set()  # top containers replaced by this edit: lookup is stale
        self.scan_index: dict[int, dict[tuple[str, EntryKey], etree._Element]] = {}
        self.order_cache: dict[int, dict[str, int]] = {}
        # Per top-level list container, its entries by key and their sorted keys: built the
        # first time a new entry does not sort last, kept in step with every change after.
        self.sorted_entries: dict[int, tuple[dict[str, etree._Element], list[str]]] = {}

    # ---- driver -------------------------------------------------------------------------

    def run(self, config: etree._Element, default_operation: str) -> None:
        inherited = None if default_operation == "none" else default_operation
        if default_operation == "replace":
            given = {c.tag for c in config if isinstance(c.tag, str)}
            for old in list(self.root):
                if isinstance(old.tag, str) and old.tag not in given:
                    if old.tag in SINGLETONS:
                        self._drop_singleton(self._singleton(old.tag))
                    else:
                        self._swap_top(old, None)
        self._children(self.root, config, None, inherited, "", None)

    def _children(self, tparent: etree._Element, cparent: etree._Element,
                  sparent: SchemaNode | None, op: str | None, path: str,
                  entry: _Entry | None, skip: Iterable[str] = ()) -> None:
        for c in cparent:
            if not isinstance(c.tag, str) or c.tag in skip:
                continue
            try:
                self._node(tparent, c, sparent, op, path, entry)
            except RpcError as exc:
                if not self.keep_going:
                    raise
                self.result.errors.append(exc)

    def _node(self, tparent: etree._Element, c: etree._Element, sparent: SchemaNode | None,
              op: str | None, path: str, entry: _Entry | None) -> None:
        if entry is None and sparent is not None and self._new_entry(tparent, c, sparent, op,
                                                                     path):
            return
        q = etree.QName(c)
        ns, name = q.namespace or "", q.localname
        snode = self.schema.top(ns, name) if sparent is None else sparent.child(ns, name)
        here = path + paths.step(ns, name) if ns else f"{path}/{name}"
        if snode is None:
            if ns not in self.namespaces:
                raise UnknownNamespace(
                    f"no YANG module has the namespace {ns!r}" if ns
                    else f"element {name!r} has no namespace",
                    path=path or None, info=[("bad-element", name), ("bad-namespace", ns)])
            raise UnknownElement(f"{name!r} is not a node of the schema here",
                                 path=here, info=[("bad-element", name)])
        if not snode.config:
            raise UnknownElement(f"{name!r} is state data (config false) and cannot be edited",
                                 path=here, info=[("bad-element", name)])
        if sparent is None and ns.startswith(IETF) and c.tag not in BY_CONTAINER:
            # an IETF module hvd loads for its types or RPCs (ietf-interfaces, the configured
            # subscriptions of ietf-subscribed-notifications): nothing of it is stored, so
            # nothing of it is taken
            raise OperationNotSupported(
                f"hvd does not keep the {name!r} configuration of {ns}",
                path=here, info=[("bad-element", name)])
        op = self._operation(c, op, here)
        kind = snode.kind
        try:
            if kind == "container":
                self._container(tparent, c, snode, op, here, entry, sparent)
            elif kind == "list":
                self._list_entry(tparent, c, snode, op, path, entry, sparent)
            elif kind == "leaf":
                self._leaf(tparent, c, snode, op, here, entry, sparent)
            elif kind == "leaf-list":
                self._leaf_list(tparent, c, snode, op, path, entry, sparent)
            else:
                raise UnknownElement(f"{name!r} cannot be edited", path=here,
                                     info=[("bad-element", name)])
        except RpcError as exc:
            if exc.path is None:
                exc.path = here
            raise

    def _operation(self, c: etree._Element, inherited: str | None, here: str) -> str | None:
        op = c.get(OP_ATTR)
        if op is None:
            return inherited
        if op not in OPERATIONS:
            raise BadAttribute(
                f"operation {op!r} is not one of {', '.join(OPERATIONS)}", path=here,
                info=[("bad-attribute", "operation"), ("bad-element", etree.QName(c).localname)])
        return op

    # ---- journal: every change goes through these ---------------------------------------

    def _touch(self, entry: _Entry, detaching: bool = False) -> None:
        """Record the pre-edit state of a top-level entry about to change (once per edit)."""
        if entry.touched:
            return
        entry.touched = True
        el, parent = entry.el, entry.parent
        if el is None:
            snap, index = None, -1
        else:
            # An entry that is detached whole is its own snapshot; one changed in place is copied.
            snap = el if detaching else copy.deepcopy(el)
            index = parent.index(el)
        self.result.before[entry.key] = snap
        self.result.touched.add(entry.key)

        root = self.root

        def restore() -> None:
            cur = entry.el
            if cur is not None and cur.getparent() is parent:
                parent.remove(cur)
            if snap is not None:
                # The store prunes a container its last entry left; bring it back first.
                if parent is not root and parent.getparent() is None:
                    root.append(parent)
                parent.insert(index, snap)
            entry.el = snap
            entry.touched = False

        self.result._undo.append(restore)

    def _journal(self, entry: _Entry | None, undo: Callable[[], None]) -> None:
        """Inside an entry its snapshot undoes everything; outside, keep a precise undo step."""
        if entry is not None:
            self._touch(entry)
        else:
            self.result.touched.add(ALL)
            self.result._undo.append(undo)

    def _detach(self, parent: etree._Element, el: etree._Element, entry: _Entry | None) -> None:
        index = parent.index(el)
        self._journal(entry, lambda: parent.insert(index, el))
        parent.remove(el)

    def _new_child(self, parent: etree._Element, tag: str, entry: _Entry | None,
                   nsmap: dict[str, str] | None = None) -> etree._Element:
        """A new last child of parent, made in place (cheap, and it keeps parent's prefixes);
        `nsmap` declares the prefixes a qualified value uses."""
        if entry is not None:
            self._touch(entry)
        el = etree.SubElement(parent, tag, nsmap=nsmap) if nsmap else etree.SubElement(
            parent, tag)
        if entry is None:
            def undo() -> None:
                if el.getparent() is parent:
                    parent.remove(el)

            self._journal(None, undo)
        return el

    def _swap(self, parent: etree._Element, old: etree._Element, new: etree._Element,
              entry: _Entry | None) -> None:
        self._journal(entry, lambda: parent.replace(new, old))
        parent.replace(old, new)

    def _set_text(self, el: etree._Element, value: str, entry: _Entry | None) -> None:
        old = el.text

        def undo() -> None:
            el.text = old

        self._journal(entry, undo)
        el.text = value

    def _moved(self, parent: etree._Element, el: etree._Element, entry: _Entry | None,
               anchor: tuple[str, etree._Element | None]) -> None:
        index = parent.index(el)
        self._journal(entry, lambda: parent.insert(index, el))
        self._position(parent, el, anchor)

    def _swap_top(self, old: etree._Element | None, new: etree._Element | None) -> None:
        """Replace or delete a whole top-level container: the scope becomes everything."""
        root = self.root
        tag = (old if old is not None else new).tag  # type: ignore[union-attr]
        was_rebuilt = tag in self.rebuilt
        if old is not None and new is not None:
            root.replace(old, new)
            index = -1
        elif old is not None:
            index = root.index(old)
            root.remove(old)
        self.rebuilt.add(tag)
        self.result.touched.add(ALL)

        def undo() -> None:
            if old is not None and new is not None:
                root.replace(new, old)
            elif old is not None:
                root.insert(index, old)
            if not was_rebuilt:
                self.rebuilt.discard(tag)

        self.result._undo.append(undo)

    def _singleton(self, tag: str) -> _Entry:
        """The entry of a top-level container that is one entry as a whole."""
        key = SINGLETONS[tag]
        entry = self.result._entries.get(key)
        if entry is None:
            entry = self.result._entries[key] = _Entry(key, self.root, self.root.find(tag))
        return entry

    def _drop_singleton(self, entry: _Entry) -> None:
        assert entry.el is not None
        self._touch(entry, detaching=True)
        self.root.remove(entry.el)
        entry.el = None

    def _singleton_container(self, c: etree._Element, snode: SchemaNode, op: str | None,
                             here: str) -> None:
        entry = self._singleton(c.tag)
        existing = entry.el
        if op in ("delete", "remove"):
            if existing is None:
                if op == "delete":
                    raise DataMissing(f"{snode.name} does not exist", path=here)
                return
            self._drop_singleton(entry)
            return
        if op is None:
            if existing is None:
                raise DataMissing(f"{snode.name} does not exist (default-operation none)",
                                  path=here)
        elif op == "create" and existing is not None:
            raise DataExists(f"{snode.name} already exists", path=here)
        elif existing is None or op == "replace":
            self._touch(entry, detaching=existing is not None)
            new = etree.Element(c.tag, nsmap=default_ns(snode.ns))
            if existing is not None:
                self.root.replace(existing, new)
            else:
                self.root.append(new)
            entry.el = existing = new
        assert existing is not None
        self._children(existing, c, snode, op, here, entry)
        if len(existing) == 0:  # an empty non-presence container is no configuration
            self._drop_singleton(entry)

    def _create_top(self, new: etree._Element) -> None:
        """A new top container is no change by itself (empty); its entries are."""
        root = self.root
        root.append(new)
        self.result._undo.append(lambda: root.remove(new))

    # ---- containers ---------------------------------------------------------------------

    def _container(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
                   op: str | None, here: str, entry: _Entry | None,
                   sparent: SchemaNode | None) -> None:
        top = sparent is None
        if top and c.tag in SINGLETONS:
            self._singleton_container(c, snode, op, here)
            return
        existing = tparent.find(c.tag)
        if op in ("delete", "remove"):
            if existing is None:
                if op == "delete":
                    raise DataMissing(f"{snode.name} does not exist", path=here)
                return
            if top:
                self._swap_top(existing, None)
            else:
                self._detach(tparent, existing, entry)
                self._prune(tparent, entry)
            return
        if op is None:
            if existing is None:
                raise DataMissing(f"{snode.name} does not exist (default-operation none)",
                                  path=here)
            self._children(existing, c, snode, None, here, entry)
            return
        if op == "create" and existing is not None:
            raise DataExists(f"{snode.name} already exists", path=here)
        if op == "replace" and existing is not None:
            new = etree.Element(c.tag, nsmap=default_ns(snode.ns))
            if top:
                self._swap_top(existing, new)
            else:
                self._swap(tparent, existing, new, entry)
            self._children(new, c, snode, op, here, entry)
            return
        if existing is None:
            if top:
                existing = etree.Element(c.tag, nsmap=default_ns(snode.ns))
                self._create_top(existing)
            else:
                existing = self._new_child(tparent, c.tag, entry)
                self._place(tparent, existing, sparent)
        self._children(existing, c, snode, op, here, entry)

    # ---- placement ----------------------------------------------------------------------

    def _place(self, tparent: etree._Element, new: etree._Element,
               sparent: SchemaNode | None) -> None:
        """Move a just-appended child to where the schema orders it (lists stay grouped)."""
        order = self._order(sparent)
        prev = new.getprevious()
        if not order or prev is None:
            return
        mine = order.get(new.tag, len(order))
        if order.get(prev.tag, len(order)) <= mine:
            return
        for sib in tparent:
            if order.get(sib.tag, len(order)) > mine:
                sib.addprevious(new)
                return

    def _order(self, sparent: SchemaNode | None) -> dict[str, int]:
        if sparent is None:
            return {}
        cached = self.order_cache.get(id(sparent))
        if cached is None:
            cached = {f"{{{ch.ns}}}{ch.name}": i for i, ch in enumerate(sparent.children)}
            self.order_cache[id(sparent)] = cached
        return cached

    # ---- lists --------------------------------------------------------------------------

    def _keyvals(self, c: etree._Element, snode: SchemaNode, path: str) -> list[str]:
        vals = []
        here = path + paths.step(snode.ns, snode.name)
        for k in snode.keys:
            kel = _first(c, f"{{{snode.ns}}}{k}")
            if kel is None:
                raise MissingElement(f"the {snode.name} entry has no key {k!r}", path=here,
                                     info=[("bad-element", k)])
            knode = snode.child(snode.ns, k)
            assert knode is not None
            vals.append(self._value(knode, kel, here + paths.step(snode.ns, k)))
        return vals

    def _find_in(self, tparent: etree._Element, tag: str, snode: SchemaNode,
                 keyvals: list[str]) -> etree._Element | None:
        keytags = [f"{{{snode.ns}}}{k}" for k in snode.keys]
        for el in tparent.iterchildren(tag):
            if all(el.findtext(kt) == v for kt, v in zip(keytags, keyvals, strict=True)):
                return el
        return None

    def _top_entry(self, container: etree._Element, tag: str, snode: SchemaNode,
                   keyvals: list[str]) -> _Entry:
        key = entry_key(snode.name, keyvals)
        entry = self.result._entries.get(key)
        if entry is not None and entry.parent is container:
            return entry
        if self.lookup is not None and container.tag not in self.rebuilt:
            el = self.lookup(key)
        else:
            idx = self.scan_index.get(id(container))
            if idx is None:
                idx = {}
                keytags = [f"{{{snode.ns}}}{k}" for k in snode.keys]
                for e in container.iterchildren(tag):
                    kv = entry_key(snode.name, [e.findtext(kt) or "" for kt in keytags])
                    idx[(tag, kv)] = e
                self.scan_index[id(container)] = idx
            el = idx.get((tag, key))
        entry = _Entry(key, container, el)
        self.result._entries[key] = entry
        return entry

    def _list_entry(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
                    op: str | None, path: str, entry: _Entry | None,
                    sparent: SchemaNode | None) -> None:
        keyvals = self._keyvals(c, snode, path)
        here = path + paths.entry_step(snode.ns, snode.name,
                                       list(zip(snode.keys, keyvals, strict=True)))
        keytags = [f"{{{snode.ns}}}{k}" for k in snode.keys]
        for kt in keytags:
            key_el = _first(c, kt)
            if key_el is not None and key_el.get(OP_ATTR) in ("delete", "remove"):
                k = etree.QName(kt).localname
                raise BadAttribute("a list key cannot be deleted; delete the entry instead",
                                   path=here + paths.step(snode.ns, k),
                                   info=[("bad-attribute", "operation"), ("bad-element", k)])
        try:
            self._entry_op(tparent, c, snode, op, here, entry, sparent, keyvals, keytags)
        except RpcError as exc:
            if exc.path is None:
                exc.path = here
            raise

    def _entry_op(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
                  op: str | None, here: str, entry: _Entry | None, sparent: SchemaNode | None,
                  keyvals: list[str], keytags: list[str]) -> None:
        top_entry = None
        if entry is None:
            # A list right below a top-level container: its entries are the units of change.
            top_entry = self._top_entry(tparent, c.tag, snode, keyvals)
            self.result.checked.discard(top_entry.key)  # the general path may change it now
            existing = top_entry.el
        else:
            existing = self._find_in(tparent, c.tag, snode, keyvals)
        anchor = self._insert_anchor(tparent, c, snode, keyvals, here, op)
        if op in ("delete", "remove"):
            if existing is None:
                if op == "delete":
                    raise DataMissing(f"{_what(snode, keyvals)} does not exist", path=here)
                return
            if top_entry is not None:
                self._touch(top_entry, detaching=True)
                tparent.remove(existing)
                top_entry.el = None
                if (known := self.sorted_entries.get(id(tparent))) is not None:
                    del known[0][top_entry.key[1]]
                    drop_sorted(known[1], top_entry.key[1])
            else:
                self._detach(tparent, existing, entry)
            return
        if op is None or (op == "merge" and existing is not None):
            if existing is None:
                raise DataMissing(f"{_what(snode, keyvals)} does not exist "
                                  "(default-operation none)", path=here)
            inner = top_entry or entry
            if anchor is not None:
                self._moved(tparent, existing, inner, anchor)
            self._children(existing, c, snode, op, here, inner, skip=keytags)
            return
        if op == "create" and existing is not None:
            raise DataExists(f"{_what(snode, keyvals)} already exists", path=here)
        if top_entry is not None:
            self._touch(top_entry, detaching=existing is not None)
            new = etree.SubElement(tparent, c.tag)
            if existing is not None:
                tparent.replace(existing, new)
                if (known := self.sorted_entries.get(id(tparent))) is not None:
                    known[0][top_entry.key[1]] = new
            else:
                self._add_entry(tparent, new, anchor, sparent)
                self._sort_in(tparent, new, top_entry.key[1], snode)
            top_entry.el = new
        elif existing is not None:
            new = etree.Element(c.tag, nsmap=default_ns(snode.ns))
            self._swap(tparent, existing, new, entry)
            if anchor is not None:
                self._position(tparent, new, anchor)
        else:
            new = self._new_child(tparent, c.tag, entry)
            self._add_entry(tparent, new, anchor, sparent)
        for kt, v in zip(keytags, keyvals, strict=True):
            etree.SubElement(new, kt).text = v
        if not self._fill(new, c, snode, keytags):
            self._children(new, c, snode, op, here, top_entry or entry, skip=keytags)

    # ---- the fast path: the inside of a new list entry ----------------------------------

    def _new_entry(self, tparent: etree._Element, c: etree._Element, sparent: SchemaNode,
                   op: str | None, path: str) -> bool:
        """A plain create or merge of a top-level entry that does not exist yet, the bulk of a
        large edit: done here without the general path's per-node work. False, having changed
        nothing, when `c` is anything else (the general path then handles or reports it)."""
        snode = sparent.by_tag.get(c.tag)
        if snode is None or snode.kind != "list" or not snode.config:
            return False
        attrib = c.attrib
        if attrib:
            if len(attrib) != 1:
                return False
            op = attrib.get(OP_ATTR)
        if op not in FRESH_OPERATIONS:
            return False
        try:
            keytags, keyvals = _plain_keys(snode, c)
        except _Slow:
            return False
        if entry_key(snode.name, keyvals) in self.result._entries:
            return False
        top = self._top_entry(tparent, c.tag, snode, keyvals)
        if top.el is not None:
            return False
        self._touch(top)
        new = top.el = etree.SubElement(tparent, c.tag)
        self._add_entry(tparent, new, None, sparent)
        self._sort_in(tparent, new, top.key[1], snode)
        for kt, v in zip(keytags, keyvals, strict=True):
            etree.SubElement(new, kt).text = v
        if self._fill(new, c, snode, keytags):
            self.result.checked.add(top.key)
        else:
            here = path + paths.entry_step(snode.ns, snode.name,
                                           list(zip(snode.keys, keyvals, strict=True)))
            try:
                self._children(new, c, snode, op, here, top, skip=keytags)
            except RpcError as exc:
                if exc.path is None:
                    exc.path = here
                raise
        return True

    def _fill(self, new: etree._Element, c: etree._Element, snode: SchemaNode,
              keytags: list[str]) -> bool:
        """Copy the children of `c` into the entry `new` (which holds only its keys) in one pass.

        Inside an entry the edit has just made there is nothing to merge with, so when the
        content is plain (no attributes, every node a known config node, every value valid,
        nothing given twice) the result is what the general path would build, without its
        per-node journal, paths and lookups. Anything else puts `new` back to its keys and
        returns False: the general path then does the work and reports any error exactly.
        """
        keys = list(new)
        try:
            self._copy(new, c, snode, keytags)
        except _Slow:
            del new[:]
            new.extend(keys)
            return False
        return True

    def _copy(self, new: etree._Element, c: etree._Element, snode: SchemaNode,
              skip: Iterable[str] = ()) -> None:
        """_fill's walk: the general path's construction order (_place, _add_entry) exactly."""
        by_tag = snode.by_tag
        seen: set[Any] = set()
        for ch in c:
            tag = ch.tag
            if not isinstance(tag, str) or tag in skip:
                continue
            cn = by_tag.get(tag)
            if cn is None or not cn.config or ch.attrib or (cn.kind == "leaf"
                                                             and _qualified(cn)):
                raise _Slow
            kind = cn.kind
            if kind == "leaf" or kind == "container":
                if tag in seen:
                    raise _Slow
                seen.add(tag)
                el = etree.SubElement(new, tag)
                if kind == "leaf":
                    el.text = _plain_value(cn, ch)
                self._place(new, el, snode)
                if kind == "container":
                    self._copy(el, ch, cn)
            elif kind == "leaf-list":
                value = _plain_value(cn, ch)
                if (tag, value) in seen:
                    raise _Slow
                seen.add((tag, value))
                el = etree.SubElement(new, tag)
                el.text = value
                self._add_entry(new, el, None, snode)
            elif kind == "list":
                keytags, keyvals = _plain_keys(cn, ch)
                ident = (tag, tuple(keyvals))
                if ident in seen:
                    raise _Slow
                seen.add(ident)
                el = etree.SubElement(new, tag)
                self._add_entry(new, el, None, snode)
                for kt, v in zip(keytags, keyvals, strict=True):
                    etree.SubElement(el, kt).text = v
                self._copy(el, ch, cn, keytags)
            else:
                raise _Slow

    def _add_entry(self, tparent: etree._Element, new: etree._Element,
                   anchor: tuple[str, etree._Element | None] | None,
                   sparent: SchemaNode | None) -> None:
        """`new` was just appended: keep it there if it follows its own kind, else place it."""
        prev = new.getprevious()
        if prev is None or prev.tag != new.tag:
            self._place(tparent, new, sparent)
        if anchor is not None:
            self._position(tparent, new, anchor)

    def _sort_in(self, container: etree._Element, new: etree._Element, name: str,
                 snode: SchemaNode) -> None:
        """Move a new top-level entry, just appended, to where its key sorts (store/order.py)
        when its list is ordered-by system. Entries created in key order stay where they are
        without building anything."""
        if snode.ordered_by_user:
            return
        known = self.sorted_entries.get(id(container))
        if known is None:
            prev = new.getprevious()
            if prev is None or prev.tag != new.tag or self._name(prev, snode) < name:
                return
            els = {self._name(e, snode): e for e in container.iterchildren(new.tag)
                   if e is not new}
            known = self.sorted_entries[id(container)] = (els, sorted(els))
        insert_sorted(container, new, name, known[1], known[0].__getitem__)
        known[0][name] = new

    @staticmethod
    def _name(el: etree._Element, snode: SchemaNode) -> str:
        """The key of a top-level entry as entry_key() writes it."""
        return " ".join(el.findtext(f"{{{snode.ns}}}{k}") or "" for k in snode.keys)

    def _insert_anchor(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
                       ident: list[str], here: str,
                       op: str | None) -> tuple[str, etree._Element | None] | None:
        """Resolve yang:insert before changing anything, so a bad reference changes nothing."""
        where = c.get(INSERT_ATTR)
        name = snode.name
        if where is None:
            return None
        if not snode.ordered_by_user:
            raise BadAttribute(f"insert is only allowed on ordered-by user lists; {name} is not",
                               path=here, info=[("bad-attribute", "insert"),
                                                ("bad-element", name)])
        if op in ("delete", "remove"):
            return None
        if where in ("first", "last"):
            return (where, None)
        if where not in ("before", "after"):
            raise BadAttribute(f"insert {where!r} is not first, last, before or after",
                               path=here, info=[("bad-attribute", "insert"),
                                                ("bad-element", name)])
        attr, attr_name = (KEY_ATTR, "key") if snode.kind == "list" else (VALUE_ATTR, "value")
        ref = c.get(attr)
        if ref is None:
            raise MissingAttribute(f"insert {where!r} needs the {attr_name} attribute",
                                   path=here, info=[("bad-attribute", attr_name),
                                                    ("bad-element", name)])
        if snode.kind == "list":
            preds = paths.parse_key_predicates(ref)
            if preds is None or set(preds) != set(snode.keys):
                raise BadAttribute(f"key {ref!r} does not name every key of {name}",
                                   path=here, info=[("bad-attribute", "key"),
                                                    ("bad-element", name)])
            want = [preds[k] for k in snode.keys]
            target = self._find_in(tparent, c.tag, snode, want)
        else:
            want = [ref]
            target = next((e for e in tparent.iterchildren(c.tag) if e.text == ref), None)
        if target is None:
            raise BadAttribute(f"insert {where} {ref!r}: no such {name} entry", path=here,
                               app_tag="missing-instance",
                               info=[("bad-attribute", attr_name), ("bad-element", name)])
        if want == ident:
            raise BadAttribute(f"an entry cannot be inserted {where} itself", path=here,
                               info=[("bad-attribute", attr_name), ("bad-element", name)])
        return (where, target)

    def _position(self, tparent: etree._Element, el: etree._Element,
                  anchor: tuple[str, etree._Element | None]) -> None:
        where, target = anchor
        if where in ("before", "after"):
            assert target is not None
            if where == "before":
                target.addprevious(el)
            else:
                target.addnext(el)
            return
        same = [e for e in tparent.iterchildren(el.tag) if e is not el]
        if not same:
            return
        if where == "first":
            same[0].addprevious(el)
        else:
            same[-1].addnext(el)

    # ---- leaves -------------------------------------------------------------------------

    def _value(self, snode: SchemaNode, c: etree._Element, here: str) -> str:
        if len(c):
            raise BadElement(f"{snode.name} is a leaf and cannot hold elements", path=here,
                             info=[("bad-element", snode.name)])
        text = c.text or ""
        try:
            canon = snode.check_value(text)
        except RpcError as exc:
            if exc.path is None:
                exc.path = here
            raise
        return canon if isinstance(canon, str) else text

    def _leaf(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
              op: str | None, here: str, entry: _Entry | None,
              sparent: SchemaNode | None) -> None:
        existing = tparent.find(c.tag)
        if op in ("delete", "remove"):
            self._remove(tparent, existing, op, entry, f"{snode.name} is not set", here)
            return
        value = self._value(snode, c, here)
        if op is None:
            if existing is None:
                raise DataMissing(f"{snode.name} is not set (default-operation none)", path=here)
            return
        if op == "create" and existing is not None:
            raise DataExists(f"{snode.name} is already set", path=here)
        declare = _declarations(c, value) if _qualified(snode) else None
        if existing is not None:
            if declare and (existing.text != value or any(
                    existing.nsmap.get(p) != ns for p, ns in declare.items())):
                new = etree.Element(c.tag, nsmap=declare)
                new.text = value
                self._swap(tparent, existing, new, entry)
            elif existing.text != value:
                self._set_text(existing, value, entry)
            return
        new = self._new_child(tparent, c.tag, entry, declare)
        new.text = value
        self._place(tparent, new, sparent)

    def _leaf_list(self, tparent: etree._Element, c: etree._Element, snode: SchemaNode,
                   op: str | None, path: str, entry: _Entry | None,
                   sparent: SchemaNode | None) -> None:
        value = self._value(snode, c, path + paths.step(snode.ns, snode.name))
        here = path + paths.value_step(snode.ns, snode.name, value)
        existing = next((e for e in tparent.iterchildren(c.tag) if e.text == value), None)
        try:
            anchor = self._insert_anchor(tparent, c, snode, [value], here, op)
            if op in ("delete", "remove"):
                self._remove(tparent, existing, op, entry,
                             f"{snode.name} {value!r} is not set", here)
                return
            if op is None:
                if existing is None:
                    raise DataMissing(f"{snode.name} {value!r} is not set "
                                      "(default-operation none)", path=here)
                return
            if op == "create" and existing is not None:
                raise DataExists(f"{snode.name} {value!r} is already set", path=here)
            if existing is None:
                new = self._new_child(tparent, c.tag, entry)
                new.text = value
                self._add_entry(tparent, new, anchor, sparent)
            elif anchor is not None:
                self._moved(tparent, existing, entry, anchor)
        except RpcError as exc:
            if exc.path is None:
                exc.path = here
            raise

    def _remove(self, tparent: etree._Element, existing: etree._Element | None, op: str,
                entry: _Entry | None, missing: str, here: str) -> None:
        """delete (data-missing when absent) or remove (silent when absent) of one node."""
        if existing is None:
            if op == "delete":
                raise DataMissing(missing, path=here)
            return
        self._detach(tparent, existing, entry)
        self._prune(tparent, entry)

    def _prune(self, tparent: etree._Element, entry: _Entry | None) -> None:
        """Drop containers emptied by a delete: an empty non-presence container does not exist."""
        el = tparent
        while entry is not None and el is not entry.el and len(el) == 0:
            parent = el.getparent()
            if parent is None:
                return
            parent.remove(el)
            el = parent
