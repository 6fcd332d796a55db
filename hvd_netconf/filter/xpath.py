"""XPath filters (RFC 6241 §8.9) evaluated over a data tree held under a wrapper element.

hvd keeps configuration under one `<config>` (or `<data>`) element, so the document root of
lxml is that wrapper, not the NETCONF datastore root. Absolute location paths are rewritten
to start below the wrapper (`/x` -> `/*/x`), which lets the expression run on the live
datastore tree without copying it.

Names, when the schema is known (NamesInSchema): RFC 6241 §8.9 binds a select's prefixes
through the xmlns declarations in scope on <filter>, and such a binding always wins. A prefix
no xmlns binds is taken as a YANG module name (`/hvd-vm:vms`), the form of RFC 7951 §4 that
netopeer2 (libyang) accepts and most tools send. An unprefixed name is, in XPath 1.0 (§2.3), in
no namespace, which no YANG node is, so it could only ever select nothing; libyang reads it as
the context node's module, which for a filter (context: the root) selects nothing either. hvd
instead gives it the module of the step before it in the same path (how RFC 7951 §4 names a
member whose module is its parent's), and at the start of a path the one module whose
top-level node has that name, refusing the name when two modules do. A name no module defines
is an invalid-value error naming the path, instead of an empty reply that looks like no data.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterable, Mapping

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.schema.nodes import Schema

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


_AUTO = "hvdns"  # prefixes hvd binds for module names and unprefixed names: hvdns0, hvdns1…


class NamesInSchema:
    """Resolves the name tests of one select against the loaded modules (see the docstring)."""

    def __init__(self, schema: Schema, select: str, namespaces: dict[str, str]) -> None:
        self.select = select
        self.namespaces = namespaces  # grows with the bindings made here
        self.modules = {m.name: m.namespace for m in schema.modules}
        self.names = _names_by_ns(schema)
        self.tops: dict[str, set[str]] = {}
        for node in schema.tops:
            self.tops.setdefault(node.name, set()).add(node.ns)
        self.context: list[str | None] = [None]  # the module in force, per bracket level

    def _error(self, why: str) -> InvalidValue:
        return InvalidValue(f"XPath {self.select!r}: {why}",
                            info=[("bad-attribute", "select"), ("bad-element", "filter")])

    def _prefix_of(self, ns: str) -> str:
        for prefix, uri in self.namespaces.items():
            if uri == ns:
                return prefix
        prefix = f"{_AUTO}{len(self.namespaces)}"
        self.namespaces[prefix] = ns
        return prefix

    def _module_name(self, ns: str) -> str:
        return next((name for name, uri in self.modules.items() if uri == ns), ns)

    def step_start(self) -> None:
        """An absolute path begins: its first name is looked up among the top-level nodes."""
        self.context[-1] = None

    def open(self) -> None:
        self.context.append(self.context[-1])

    def close(self) -> None:
        if len(self.context) > 1:
            self.context.pop()

    def name(self, text: str) -> str:
        prefix, colon, local = text.rpartition(":")
        if colon:
            ns = self.namespaces.get(prefix) or self.modules.get(prefix)
            if ns is None:
                raise self._error(f"prefix {prefix!r} is neither declared (xmlns) on <filter> "
                                  "nor a module's name")
        else:
            ns = self.context[-1] or self._top_module(local)
        if local != "*" and local not in self.names.get(ns, ()):
            raise self._error(f"{local!r} names nothing in module {self._module_name(ns)}")
        self.context[-1] = ns
        return f"{self._prefix_of(ns)}:{local}"

    def _top_module(self, local: str) -> str:
        found = self.tops.get(local, set())
        if len(found) > 1:
            names = " and ".join(sorted(self._module_name(ns) for ns in found))
            raise self._error(f"{local!r} is a top-level node of {names}; "
                              "prefix it with the module's name")
        if not found:
            raise self._error(f"{local!r} names nothing in any module (an unprefixed name "
                              "at the start of a path must be a top-level node)")
        return next(iter(found))


_NAMES: weakref.WeakKeyDictionary[Schema, dict[str, set[str]]] = weakref.WeakKeyDictionary()


def _names_by_ns(schema: Schema) -> dict[str, set[str]]:
    """Every data node name of the schema, by namespace (augments land in their own)."""
    if schema not in _NAMES:
        found: dict[str, set[str]] = {}
        stack = list(schema.tops)
        while stack:
            node = stack.pop()
            found.setdefault(node.ns, set()).add(node.name)
            stack.extend(node.children)
        _NAMES[schema] = found
    return _NAMES[schema]


def rewrite_absolute(expr: str, names: NamesInSchema | None = None) -> str:
    """Make absolute location paths start at the wrapper's children (XPath 1.0 §3.7 rules);
    with names, resolve each name test against the schema too."""
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
        lead = expr[pos:m.start(kind or 0)]
        pos = m.end()
        if kind in ("slash", "dslash") and operand_expected:
            rest = expr[pos:].lstrip()
            follows_step = bool(rest) and (rest[0] in "*@._" or rest[0].isalpha())
            text = ("/*/" if follows_step else "/*") if kind == "slash" else "/*//"
            if names is not None:
                names.step_start()
        elif names is not None and kind == "open" and text in "[(":
            names.open()
        elif names is not None and kind == "close":
            names.close()
        elif names is not None and kind == "name" and _is_name_test(expr, pos, out,
                                                                    operand_expected):
            text = names.name(text)
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


def _is_name_test(expr: str, pos: int, before: Iterable[str], operand_expected: bool) -> bool:
    """A name token that names an element: not an operator, function, axis, node type,
    attribute or variable."""
    if not operand_expected:
        return False
    rest = expr[pos:].lstrip()
    if rest.startswith("(") or rest.startswith("::"):
        return False
    previous = "".join(before).rstrip()[-1:]
    return previous not in ("@", "$")


def compile_select(select: str, nsmap: Mapping[str | None, str], schema: Schema | None = None
                   ) -> etree.XPath:
    """Compile a filter's select with the prefixes declared on <filter> (and, given the schema,
    module-name prefixes and unprefixed names); errors are the client's."""
    namespaces = {p: uri for p, uri in nsmap.items() if p}
    names = NamesInSchema(schema, select, namespaces) if schema is not None else None
    expr = rewrite_absolute(select, names)
    try:
        compiled = etree.XPath(expr, namespaces=namespaces)
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
        else:  # a text or attribute result ("smart string") knows its element
            getparent = getattr(item, "getparent", None)
            if getparent is None:
                continue
            el = getparent()
        if el is None or not isinstance(el.tag, str):
            continue
        nodes.append(el)
    return nodes
