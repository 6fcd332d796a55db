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

Ctx = tuple[Any, etree._Element]  # the schema, the <config> element

ALLOWED_ATTRIBUTES = frozenset({
    f"{{{BASE}}}operation",
    f"{{{YANG_ATTR}}}insert", f"{{{YANG_ATTR}}}key", f"{{{YANG_ATTR}}}value",
    f"{{{WD_ATTR}}}default",
})


def check_content(schema: Any, config: etree._Element) -> None:
    """Raise the first reason `config` is not one well-formed data tree (see the module doc).
    One pass, no paths built unless there is an error: a large edit pays little for it."""
    _siblings((schema, config), config, None)


def _siblings(ctx: Ctx, parent: etree._Element, pnode: Any) -> None:
    """Check the children of one container, list entry (pnode) or <config> (None)."""
    schema = ctx[0]
    if parent.text and not parent.text.isspace():
        _text(ctx, parent, parent.text)
    seen: set[str] = set()
    entries: dict[str, set[tuple[str, ...] | None] | etree._Element] = {}
    by_tag = pnode.by_tag if pnode is not None else None
    for c in parent:
        if c.tail and not c.tail.isspace():
            _text(ctx, parent, c.tail)
        tag = c.tag
        if not isinstance(tag, str):
            continue
        if by_tag is not None:
            snode = by_tag.get(tag)
        else:
            q = etree.QName(tag)
            snode = schema.top(q.namespace or "", q.localname)
        if snode is None or not snode.config:
            continue  # the engine reports it
        if c.attrib:
            _attributes(ctx, c)
        kind = snode.kind
        if kind == "leaf" or kind == "container":
            if tag in seen:
                raise BadElement(f"{kind} {snode.name!r} is given more than once",
                                 path=_path(ctx, c), info=[("bad-element", snode.name)])
            seen.add(tag)
            if kind == "container":
                _siblings(ctx, c, snode)
        elif kind == "list" or kind == "leaf-list":
            if kind == "list":
                _siblings(ctx, c, snode)
            # The first instance of a tag is only kept: most lists inside an entry hold one.
            keys = entries.get(tag)
            if keys is None:
                entries[tag] = c
            else:
                if not isinstance(keys, set):
                    first, keys = keys, set()
                    entries[tag] = keys
                    _unique(ctx, keys, _ident(snode, first), snode, first)
                _unique(ctx, keys, _ident(snode, c), snode, c)


def _ident(snode: Any, el: etree._Element) -> tuple[str, ...] | None:
    """The canonical keys of a list entry or the value of a leaf-list; None when one is missing
    or invalid (the engine reports that)."""
    if snode.kind == "leaf-list":
        value = _value(snode, el)
        return None if value is None else (value,)
    keyvals = []
    for k in snode.keys:
        kt = f"{{{snode.ns}}}{k}"
        kel = next(el.iterchildren(kt), None)
        value = _value(snode.by_tag[kt], kel) if kel is not None else None
        if value is None:
            return None
        keyvals.append(value)
    return tuple(keyvals)


def _unique(ctx: Ctx, seen: set[tuple[str, ...] | None], key: tuple[str, ...] | None,
            snode: Any, el: etree._Element) -> None:
    if key is None:
        return
    if key in seen:
        what = "value" if snode.kind == "leaf-list" else "entry"
        raise OperationFailed(
            f"{snode.kind} {snode.name!r} has the {what} {' '.join(key)!r} more than once",
            app_tag="data-not-unique", path=_path(ctx, el))
    seen.add(key)


def _value(snode: Any, el: etree._Element) -> str | None:
    """The canonical value of a leaf or leaf-list element, None when it is not valid."""
    if len(el):
        return None
    try:
        return snode.check_value(el.text or "")  # type: ignore[no-any-return]
    except RpcError:
        return None


def _text(ctx: Ctx, el: etree._Element, text: str) -> None:
    name = etree.QName(el).localname
    raise BadElement(f"{name!r} holds the text {text.strip()[:40]!r}: only elements may "
                     "appear inside it", path=_path(ctx, el), info=[("bad-element", name)])


def _attributes(ctx: Ctx, el: etree._Element) -> None:
    for attr in el.attrib:
        if attr not in ALLOWED_ATTRIBUTES:
            q = etree.QName(attr)
            where = f" in namespace {q.namespace!r}" if q.namespace else " without a namespace"
            raise UnknownAttribute(
                f"unknown attribute {q.localname!r}{where}", path=_path(ctx, el),
                info=[("bad-attribute", q.localname), ("bad-element", etree.QName(el).localname)])


def _path(ctx: Ctx, el: etree._Element) -> str:
    """The error-path of an element of the content, built only for an error."""
    schema, root = ctx
    chain = []
    cur: etree._Element | None = el
    while cur is not None and cur is not root:
        chain.append(cur)
        cur = cur.getparent()
    if not chain:
        return "/"
    out, node = "", None
    for e in reversed(chain):
        q = etree.QName(e)
        node = (schema.top(q.namespace or "", q.localname) if node is None
                else node.by_tag.get(e.tag))
        if node is None or node.kind != "list":
            out += paths.step(q.namespace or "", q.localname)
            continue
        keys = []
        for k in node.keys:
            kel = next(e.iterchildren(f"{{{node.ns}}}{k}"), None)
            value = _value(node.by_tag[f"{{{node.ns}}}{k}"], kel) if kel is not None else None
            if value is None:
                break
            keys.append((k, value))
        out += paths.entry_step(node.ns, node.name, keys)
    return out
