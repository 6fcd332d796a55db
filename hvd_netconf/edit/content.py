"""What a <config> may hold before anything is merged from it (RFC 7950 §7, RFC 6241 §7.2).

Every operation that takes configuration content (edit-config of any operation, copy-config,
validate of an inline <config>) loads it through the edit engine, which merges as it goes: a
list entry given twice would become one entry, a leaf given twice would keep its last value.
So the content is checked here first, as one data tree, and refused whole when it is not one:

- a list entry whose keys repeat, or a leaf-list value given twice: `operation-failed` with
  error-app-tag `data-not-unique`, the tag RFC 7950 §15.1 gives for non-unique data (libyang
  reports both as "Duplicate instance of"); the error-path names the second instance;
- a leaf or container given twice (RFC 7950 §7.5.7, §7.6.8: one instance per parent):
  `bad-element`, as for data from two cases of a choice (§8.3.1);
- text mixed into a container or list entry: `bad-element` (only whitespace may separate
  elements there);
- an attribute that no specification hvd implements defines: `unknown-attribute`. Allowed are
  RFC 6241's `operation` (NETCONF base namespace), RFC 7950's `insert`, `key` and `value`
  (§7.8.6, §7.7.9) and RFC 6243's `wd:default`.

Nodes the schema does not know, bad values and missing keys are left to the engine, which
reports them with its own paths.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from hvd_netconf.edit import paths
from hvd_netconf.errors import BadElement, OperationFailed, RpcError, UnknownAttribute
from hvd_netconf.namespaces import BASE, WD_ATTR, YANG_ATTR

ALLOWED_ATTRIBUTES = frozenset({
    f"{{{BASE}}}operation",
    f"{{{YANG_ATTR}}}insert", f"{{{YANG_ATTR}}}key", f"{{{YANG_ATTR}}}value",
    f"{{{WD_ATTR}}}default",
})


def check_content(schema: Any, config: etree._Element) -> None:
    """Raise the first reason `config` is not one well-formed data tree (see the module doc)."""
    _text_between(config, "config", "/")
    _siblings(config, lambda tag: _top(schema, tag), "")


def _top(schema: Any, tag: str) -> Any:
    q = etree.QName(tag)
    return schema.top(q.namespace or "", q.localname)


def _siblings(parent: etree._Element, node_of: Any, path: str) -> None:
    """Check the children of one container, list entry or <config>."""
    seen: set[str] = set()
    entries: dict[str, set[tuple[str, ...]]] = {}
    for c in parent:
        tag = c.tag
        if not isinstance(tag, str):
            continue
        snode = node_of(tag)
        if snode is None or not snode.config:
            continue  # the engine reports it
        kind = snode.kind
        here = (_entry(c, snode, entries.setdefault(tag, set()), path) if kind == "list"
                else path + paths.step(snode.ns, snode.name))
        if c.attrib:
            _attributes(c, here)
        if kind in ("leaf", "container"):
            if tag in seen:
                raise BadElement(f"{kind} {snode.name!r} is given more than once", path=here,
                                 info=[("bad-element", snode.name)])
            seen.add(tag)
            if kind == "container":
                _text_between(c, snode.name, here)
                _siblings(c, snode.by_tag.get, here)
        elif kind == "leaf-list":
            value = _value(snode, c)
            if value is not None:
                _unique(entries.setdefault(tag, set()), (value,), snode,
                        paths.value_step(snode.ns, snode.name, value), path)
        elif kind == "list":
            _text_between(c, snode.name, here)
            _siblings(c, snode.by_tag.get, here)


def _entry(c: etree._Element, snode: Any, seen: set[tuple[str, ...]], path: str) -> str:
    """The entry's path; raise when an entry with the same keys came before it."""
    keyvals = []
    for k in snode.keys:
        kel = next(c.iterchildren(f"{{{snode.ns}}}{k}"), None)
        value = _value(snode.by_tag[f"{{{snode.ns}}}{k}"], kel) if kel is not None else None
        if value is None:  # missing or invalid: the engine says so
            return path + paths.step(snode.ns, snode.name)
        keyvals.append(value)
    step = paths.entry_step(snode.ns, snode.name, list(zip(snode.keys, keyvals, strict=True)))
    _unique(seen, tuple(keyvals), snode, step, path)
    return path + step


def _unique(seen: set[tuple[str, ...]], key: tuple[str, ...], snode: Any, step: str,
            path: str) -> None:
    if key in seen:
        what = "value" if snode.kind == "leaf-list" else "entry"
        raise OperationFailed(
            f"{snode.kind} {snode.name!r} has the {what} {' '.join(key)!r} more than once",
            app_tag="data-not-unique", path=path + step)
    seen.add(key)


def _value(snode: Any, el: etree._Element) -> str | None:
    """The canonical value of a leaf or leaf-list element, None when it is not valid."""
    if len(el):
        return None
    try:
        return snode.check_value(el.text or "")  # type: ignore[no-any-return]
    except RpcError:
        return None


def _text_between(el: etree._Element, name: str, here: str) -> None:
    texts = [el.text] + [c.tail for c in el]
    bad = next((t for t in texts if t and not t.isspace()), None)
    if bad is not None:
        raise BadElement(f"{name!r} holds the text {bad.strip()[:40]!r}: only elements may "
                         "appear inside it", path=here, info=[("bad-element", name)])


def _attributes(el: etree._Element, here: str) -> None:
    for attr in el.attrib:
        if attr not in ALLOWED_ATTRIBUTES:
            q = etree.QName(attr)
            where = f" in namespace {q.namespace!r}" if q.namespace else " without a namespace"
            raise UnknownAttribute(
                f"unknown attribute {q.localname!r}{where}", path=here,
                info=[("bad-attribute", q.localname), ("bad-element", etree.QName(el).localname)])
