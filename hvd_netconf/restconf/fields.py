"""The `fields` query parameter (RFC 8040 §4.8.3): which descendants of the target to return.

`fields=name;disk(name;size);state/status` selects the leaf `name`, the `name` and `size` of
every disk, and `status` inside `state`. A list entry keeps its keys, so it stays named.
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema.nodes import SchemaNode

Selection = dict[str, "Selection | None"]  # member -> what below it (None: all of it)


def parse(text: str) -> Selection:
    sel, pos = _expr(text, 0)
    if pos != len(text):
        raise InvalidValue(f"fields: unexpected {text[pos]!r} at {pos} in {text!r}")
    return sel


def _expr(text: str, pos: int) -> tuple[Selection, int]:
    out: Selection = {}
    while True:
        end = pos
        while end < len(text) and text[end] not in "();":
            end += 1
        path = text[pos:end]
        segments = path.split("/")
        if not path or any(not s for s in segments):
            raise InvalidValue(f"fields: a node name is missing at {pos} in {text!r}")
        here = out
        for seg in segments[:-1]:
            below = here.get(seg, {})
            if below is None:  # already all of it
                break
            here = here.setdefault(seg, below)  # type: ignore[assignment]
        else:
            last = segments[-1]
            if end < len(text) and text[end] == "(":
                sub, end = _expr(text, end + 1)
                if end >= len(text) or text[end] != ")":
                    raise InvalidValue(f"fields: '(' without ')' in {text!r}")
                end += 1
                if here.get(last, {}) is not None:
                    merged = here.get(last) or {}
                    merged.update(sub)
                    here[last] = merged
            else:
                here[last] = None
        pos = end
        if pos < len(text) and text[pos] == ";":
            pos += 1
            continue
        return out, pos


def _matches(member: str, node: SchemaNode) -> bool:
    module, sep, name = member.rpartition(":")
    return name == node.name and (not sep or module == node.module)


def apply(el: etree._Element, sel: Selection, by_tag: dict[str, SchemaNode]) -> None:
    """Drop what sel does not name from the children of el, whose schema nodes are by_tag
    (a node's children, or the schema's top-level nodes for the datastore)."""
    for child in list(el):
        cnode = by_tag.get(child.tag) if isinstance(child.tag, str) else None
        if cnode is None or cnode.is_key:
            continue
        member = next((m for m in sel if _matches(m, cnode)), None)
        if member is None:
            el.remove(child)
        elif sel[member] is not None:
            apply(child, sel[member], cnode.by_tag)  # type: ignore[arg-type]
