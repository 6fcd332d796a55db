"""Subtree filtering, RFC 6241 §6: which source elements a <filter type="subtree"> selects.

The result is the set of elements selected in full; filter.project adds ancestors and keys.
A filter element without a namespace matches that local name in any namespace (§6.2.1).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from lxml import etree

from hvd_netconf.xmlparse import attributes, xpath_nodes

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
    attrs = [(k, v) for k, v in attributes(f).items() if not k.startswith(_XMLNS_FREE)]
    for c in candidates:
        if all(c.get(k) == v for k, v in attrs):
            yield c


class _Prefilter:
    """Compiled XPath picking the children that pass a filter node's content matches.

    Evaluated in libxml2, so `<vm><name>x</name></vm>` over 10,000 entries does not walk
    them in Python; _evaluate still checks the survivors exactly.
    """

    def __init__(self) -> None:
        self._cache: dict[etree._Element, tuple[etree.XPath, dict[str, str]] | None] = {}

    def candidates(self, data: etree._Element, f: etree._Element) -> Iterator[etree._Element]:
        if f not in self._cache:
            self._cache[f] = self._compile(f)
        compiled = self._cache[f]
        if compiled is None:
            return _matching(data, f)
        xpath, values = compiled
        return iter(xpath_nodes(xpath, data, **values))

    @staticmethod
    def _compile(f: etree._Element) -> tuple[etree.XPath, dict[str, str]] | None:
        qname = etree.QName(f)
        matches = [k for k in _elements(f) if _is_content_match(k)]
        if not qname.namespace or not matches or any(
                not etree.QName(k).namespace for k in matches):
            return None
        if any(not k.startswith(_XMLNS_FREE) for k in attributes(f)):
            return None
        keys = tuple(etree.QName(k) for k in matches)
        values = {f"v{i}": (k.text or "").strip() for i, k in enumerate(matches)}
        return _xpath(qname.namespace, qname.localname,
                      tuple((q.namespace, q.localname) for q in keys)), values


@functools.lru_cache(maxsize=256)
def _xpath(ns: str, name: str, keys: tuple[tuple[str, str], ...]) -> etree.XPath:
    """The compiled pre-selection for one filter shape; values are XPath variables, so the
    same `hv show vm NAME` filter compiles once, whatever the name."""
    namespaces = {"f": ns} | {f"k{i}": kns for i, (kns, _) in enumerate(keys)}
    preds = "".join(f"[k{i}:{local} = $v{i}]" for i, (_, local) in enumerate(keys))
    return etree.XPath(f"f:{name}{preds}", namespaces=namespaces)


def _evaluate(data: etree._Element, f: etree._Element, out: set[etree._Element],
              pre: _Prefilter) -> bool:
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
        for c in pre.candidates(data, k):
            if _evaluate(c, k, out, pre):
                selected = True
    return selected


def subtree_select(root: etree._Element, filter_el: etree._Element) -> set[etree._Element]:
    """Elements under `root` selected by the children of `filter_el` (empty filter: none)."""
    out: set[etree._Element] = set()
    pre = _Prefilter()
    for f in _elements(filter_el):
        for top in _matching(root, f):
            _evaluate(top, f, out, pre)
    return out
