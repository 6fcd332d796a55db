"""XPath filters (RFC 6241 §8.9) evaluated over a data tree held under a wrapper element.

hvd keeps configuration under one `<config>` (or `<data>`) element, so the document root of
lxml is that wrapper, not the NETCONF datastore root. Absolute location paths are rewritten
to start below the wrapper (`/x` -> `/*/x`), which lets the expression run on the live
datastore tree without copying it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from hvd_netconf.errors import InvalidValue

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<lit>"[^"]*"|'[^']*')
    | (?P<num>\d+(?:\.\d*)?|\.\d+)
    | (?P<dslash>//)
    | (?P<slash>/)
    | (?P<dots>\.\.|\.)
    | (?P<axis>::)
    | (?P<op>!=|<=|>=|[=<>|+\-])
    | (?P<open>[(\[,@$])
    | (?P<close>[)\]])
    | (?P<star>\*)
    | (?P<name>[A-Za-z_][\w.\-]*(?::(?:[A-Za-z_][\w.\-]*|\*))?)
    )""",
    re.VERBOSE,
)
_OPERATOR_NAMES = {"and", "or", "div", "mod"}


def rewrite_absolute(expr: str) -> str:
    """Make absolute location paths start at the wrapper's children (XPath 1.0 §3.7 rules)."""
    out: list[str] = []
    pos = 0
    operand_expected = True
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise InvalidValue(f"invalid XPath expression {expr!r} near {expr[pos:pos + 20]!r}")
        kind = m.lastgroup
        text = m.group(kind or "")
        lead = expr[pos:m.start(kind)]
        pos = m.end()
        if kind in ("slash", "dslash") and operand_expected:
            rest = expr[pos:].lstrip()
            follows_step = bool(rest) and (rest[0] in "*@._" or rest[0].isalpha())
            text = ("/*/" if follows_step else "/*") if kind == "slash" else "/*//"
        out.append(lead + text)
        if kind in ("lit", "num", "close", "dots"):
            operand_expected = False
        elif kind == "name":
            operand_expected = not operand_expected and text in _OPERATOR_NAMES
        elif kind == "star":
            operand_expected = not operand_expected
        else:  # slash, dslash, axis, op, open
            operand_expected = True
        if kind == "name" and not operand_expected and expr[pos:].lstrip().startswith("("):
            operand_expected = True  # function call: its arguments follow
    return "".join(out)


def compile_select(select: str, nsmap: Mapping[str | None, str]) -> etree.XPath:
    """Compile a filter's select with the prefixes declared on <filter>; errors are the client's."""
    namespaces = {p: uri for p, uri in nsmap.items() if p}
    try:
        compiled = etree.XPath(rewrite_absolute(select), namespaces=namespaces)
    except etree.XPathSyntaxError as exc:
        raise InvalidValue(f"invalid XPath expression {select!r}: {exc}",
                           info=[("bad-attribute", "select"), ("bad-element", "filter")]) from None
    # lxml resolves prefixes and learns the result type only when evaluating: try it on an
    # empty tree now, so a subscription's filter is refused when it is made, not later.
    select_nodes(compiled, etree.Element("probe"), select)
    return compiled


def select_nodes(xpath: etree.XPath, root: etree._Element, select: str) -> list[etree._Element]:
    """Run the filter; text and attribute results stand for their elements."""
    try:
        result = xpath(root)
    except etree.XPathEvalError as exc:
        raise InvalidValue(f"cannot evaluate XPath {select!r}: {exc}",
                           info=[("bad-attribute", "select"), ("bad-element", "filter")]) from None
    if not isinstance(result, list):
        raise InvalidValue(f"XPath {select!r} does not yield a node-set",
                           info=[("bad-attribute", "select"), ("bad-element", "filter")])
    nodes: list[etree._Element] = []
    for item in result:
        if isinstance(item, etree._Element):
            el = item
        elif hasattr(item, "getparent"):
            el = item.getparent()
        else:
            continue
        if el is None or not isinstance(el.tag, str):
            continue
        nodes.append(el)
    return nodes
