"""YANG XPath (RFC 7950 §6.4) compiled once to lxml XPath.

YANG leaves names unprefixed (they mean the module's namespace), lets `/` start at the data
root, and has current(). The rewrite prefixes every name, turns an absolute path into
`$root/...` (the <config> element, wherever it sits in a document) and current() into
`$current`, so one compiled lxml.etree.XPath serves every instance.
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree
from pyang import xpath_lexer

from hvd_netconf.namespaces import PREFIXES
from hvd_netconf.xmlparse import xpath_value

_NS_TO_PREFIX = {ns: p for p, ns in PREFIXES.items()}
_STARTS_PATH = {
    None, "LPAREN", "LBRACKET", "COMMA", "BAR", "PLUS", "MINUS", "EQ", "NEQ", "LT", "LTE",
    "GT", "GTE", "AND", "OR", "MOD", "DIV", "DOUBLECOLON",
}
# A name or `..` after `*` starts a path too (`*` is then the multiply operator: a wildcard
# `*` is never followed by one); a `/` after it is not the root (`*/a`), so not in _STARTS_PATH.
_STARTS_NAME = _STARTS_PATH | {"STAR"}


def prefix_for(ns: str, fallback: str) -> str:
    """The prefix hvd renders for a namespace: namespaces.PREFIXES, else the module's own."""
    return _NS_TO_PREFIX.get(ns, fallback)


class YangXPath:
    """A compiled must/when/leafref expression with the namespaces its prefixes mean."""

    __slots__ = ("compiled", "error_app_tag", "error_message", "lxml_text", "namespaces",
                 "rel_steps", "text")

    def __init__(self, text: str, module_ns: str, module_prefix: str,
                 prefix_map: Mapping[str, str], error_message: str | None = None,
                 error_app_tag: str | None = None) -> None:
        self.text = text
        self.error_message = error_message
        self.error_app_tag = error_app_tag
        self.namespaces: dict[str, str] = {}
        self.lxml_text, self.rel_steps = self._rewrite(text, module_ns, module_prefix,
                                                       prefix_map)
        self.compiled = etree.XPath(self.lxml_text, namespaces=self.namespaces,
                                    smart_strings=False)

    def _ns_prefix(self, ns: str, fallback: str) -> str:
        p = prefix_for(ns, fallback)
        self.namespaces[p] = ns
        return p

    def _rewrite(self, text: str, module_ns: str, module_prefix: str,
                 prefix_map: Mapping[str, str]) -> tuple[str, list[list[tuple[str, str]]]]:
        toks = [t for t in xpath_lexer.scan(text) if t.type != "_whitespace"]
        out: list[str] = []
        prev: str | None = None
        skip = 0
        # relative location paths made of '..' and names only: used to find defaults to
        # materialise before evaluation (RFC 7950 §6.4.1: defaults are in the accessible tree)
        rel_paths: list[list[tuple[str, str]]] = []
        cur: list[tuple[str, str]] | None = None
        for i, tok in enumerate(toks):
            if skip:
                skip -= 1
                continue
            t, v = tok.type, tok.value
            if t == "function_name" and v == "current":
                out.append("$current")
                skip = 2  # '(' ')'
                prev = "name"
                cur = None
                continue
            if t in ("SLASH", "DOUBLESLASH") and prev in _STARTS_PATH:
                out.append("$root" + v)
                cur = None
            elif t == "name":
                if ":" in v:
                    p, local = v.split(":", 1)
                    ns = prefix_map.get(p, module_ns if p == module_prefix else "")
                else:
                    local, ns = v, module_ns
                pf = self._ns_prefix(ns, p if ":" in v else module_prefix)
                out.append(f"{pf}:{local}")
                if cur is None and prev in _STARTS_NAME:
                    cur = []
                    rel_paths.append(cur)
                if cur is not None:
                    cur.append((ns, local))
            elif t == "DOTDOT":
                out.append(v)
                if cur is None and prev in _STARTS_NAME:
                    cur = []
                    rel_paths.append(cur)
                if cur is not None:
                    cur.append(("", ".."))
            elif t == "SLASH" and cur is not None:
                out.append(v)
            else:
                if t not in ("SLASH",):
                    cur = None
                out.append(f" {v} " if t in ("AND", "OR", "MOD", "DIV") else v)
            prev = t
            del i
        return "".join(out), rel_paths

    def __call__(self, node: etree._Element, root: etree._Element) -> object:
        return xpath_value(self.compiled, node, current=node, root=root)

    def __repr__(self) -> str:
        return f"<YangXPath {self.text!r} -> {self.lxml_text!r}>"
