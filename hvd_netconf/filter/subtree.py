"""Subtree filtering, RFC 6241 §6: which source elements a <filter type="subtree"> selects.

The result is the set of elements selected in full; filter.project adds ancestors and keys.
A filter element without a namespace matches that local name in any namespace (§6.2.1).
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

_XMLNS_FREE = "{http://www.w3.org/2000/xmlns/}"


def _elements(el: etree._Element) -> list[etree._Element]:
    return [c for c in el if isinstance(c.tag, str)]


def _is_content_match(f: etree._Element) -> bool:
    return not _elements(f) and bool((f.text or "").strip())


def _matching(data: etree._Element, f: etree._Element) -> Iterator[etree._Element]:
    qname = etree.QName(f)
    if qname.namespace:
        candidates = data.iterchildren(f.tag)
    else:
        candidates = (c for c in data.iterchildren(tag=etree.Element)
                      if etree.QName(c).localname == qname.localname)
    attrs = [(k, v) for k, v in f.attrib.items() if not k.startswith(_XMLNS_FREE)]
    for c in candidates:
        if all(c.get(k) == v for k, v in attrs):
            yield c


def _evaluate(data: etree._Element, f: etree._Element, out: set[etree._Element]) -> bool:
    """Select within `data`, which matched the filter node `f`; True if anything was selected."""
    kids = _elements(f)
    if not kids:
        out.add(data)
        return True
    matches = [k for k in kids if _is_content_match(k)]
    others = [k for k in kids if not _is_content_match(k)]
    matched_leaves: list[etree._Element] = []
    for k in matches:
        want = (k.text or "").strip()
        hit = [c for c in _matching(data, k) if (c.text or "").strip() == want]
        if not hit:
            return False
        matched_leaves.extend(hit)
    if not others:
        out.add(data)
        return True
    selected = bool(matches)
    out.update(matched_leaves)
    for k in others:
        for c in _matching(data, k):
            if _evaluate(c, k, out):
                selected = True
    return selected


def subtree_select(root: etree._Element, filter_el: etree._Element) -> set[etree._Element]:
    """Elements under `root` selected by the children of `filter_el` (empty filter: none)."""
    out: set[etree._Element] = set()
    for f in _elements(filter_el):
        for top in _matching(root, f):
            _evaluate(top, f, out)
    return out
