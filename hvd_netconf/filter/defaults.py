"""RFC 6243 with-defaults on a reply tree (a copy: these functions modify what they get).

The datastore keeps what clients set (basic mode `explicit`), so `explicit` is the identity;
`report-all` adds the schema defaults nobody set (honouring `when`), `report-all-tagged` also
marks every default-valued leaf with wd:default="true", and `trim` drops leaves whose value
equals their default.
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.filter.project import schema_child
from hvd_netconf.namespaces import WD_ATTR, default_ns, qn
from hvd_netconf.schema.nodes import Schema, SchemaNode

MODES = ("explicit", "report-all", "report-all-tagged", "trim")
BASIC_MODE = "explicit"
_WD_DEFAULT = qn(WD_ATTR, "default")


def check_mode(mode: str | None) -> str:
    mode = (mode or BASIC_MODE).strip()
    if mode not in MODES:
        raise InvalidValue(f"with-defaults mode {mode!r} is not supported "
                           f"(supported: {', '.join(MODES)})",
                           info=[("bad-element", "with-defaults")])
    return mode


def apply_mode(mode: str, root: etree._Element, schema: Schema | None) -> None:
    """Rewrite the tree under `root` (a <data> or <config> wrapper) for the mode."""
    if mode == "explicit" or schema is None:
        return
    if mode == "trim":
        _trim(root, None, schema)
        return
    tagged = mode == "report-all-tagged"
    for top in list(root.iterchildren(tag=etree.Element)):
        node = schema_child(schema, None, top.tag)
        if node is not None:
            _fill(top, node, root, tagged)


def _equal(node: SchemaNode, text: str | None) -> bool:
    if node.default is None:
        return False
    try:
        return node.check_value(text) == node.check_value(node.default)
    except InvalidValue:
        return (text or "").strip() == node.default


def _trim(el: etree._Element, snode: SchemaNode | None, schema: Schema) -> None:
    for c in list(el.iterchildren(tag=etree.Element)):
        cnode = schema_child(schema, snode, c.tag)
        if cnode is None:
            continue
        if cnode.kind == "leaf":
            if not cnode.is_key and _equal(cnode, c.text):
                el.remove(c)
        elif cnode.kind in ("container", "list"):
            _trim(c, cnode, schema)
            if cnode.kind == "container" and not cnode.presence and len(c) == 0:
                el.remove(c)


def _has_defaults(node: SchemaNode) -> bool:
    return any(n.kind == "leaf" and n.default is not None for n in node.walk() if n is not node
               ) if node.kind == "container" else False


def _fill(el: etree._Element, node: SchemaNode, root: etree._Element, tagged: bool) -> None:
    """Add the defaults below `el` (a container or list entry) in schema order."""
    present_cases = {c.case for c in (node.by_tag.get(x.tag) for x in el
                                      if isinstance(x.tag, str)) if c is not None and c.case}
    for cnode in node.children:
        if cnode.case is not None and cnode.case not in present_cases:
            continue
        existing = el.findall(cnode.tag)
        if cnode.kind == "leaf":
            if existing:
                if tagged and _equal(cnode, existing[0].text):
                    existing[0].set(_WD_DEFAULT, "true")
            elif cnode.default is not None:
                _add_default(el, cnode, root, tagged)
        elif cnode.kind == "list":
            for entry in existing:
                _fill(entry, cnode, root, tagged)
        elif cnode.kind == "container":
            if existing:
                _fill(existing[0], cnode, root, tagged)
            elif not cnode.presence and _has_defaults(cnode) and _when_ok(el, cnode, root, None):
                sub = _insert(el, cnode)
                _fill(sub, cnode, root, tagged)
                if len(sub) == 0:
                    el.remove(sub)


def _insert(el: etree._Element, cnode: SchemaNode) -> etree._Element:
    """A new child at its schema position, so the reply keeps the model's order."""
    parent_node_order = [c.tag for c in cnode.parent.children] if cnode.parent else []
    new = etree.Element(cnode.tag, nsmap=None if etree.QName(el).namespace == cnode.ns
                        else default_ns(cnode.ns))
    rank = {tag: i for i, tag in enumerate(parent_node_order)}
    mine = rank.get(cnode.tag, len(rank))
    for i, sibling in enumerate(el):
        if isinstance(sibling.tag, str) and rank.get(sibling.tag, -1) > mine:
            el.insert(i, new)
            return new
    el.append(new)
    return new


def _add_default(el: etree._Element, cnode: SchemaNode, root: etree._Element, tagged: bool) -> None:
    leaf = _insert(el, cnode)
    leaf.text = cnode.default
    if not _when_ok(el, cnode, root, leaf):
        el.remove(leaf)
        return
    if tagged:
        leaf.set(_WD_DEFAULT, "true")


def _when_ok(parent: etree._Element, cnode: SchemaNode, root: etree._Element,
             inserted: etree._Element | None) -> bool:
    if cnode.when is None:
        return True
    ctx = inserted if inserted is not None else parent
    try:
        return bool(cnode.when(ctx, root))
    except etree.XPathError:  # an expression that cannot be evaluated here selects nothing
        return False
