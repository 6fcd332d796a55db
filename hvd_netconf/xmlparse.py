"""The one way hvd parses XML from outside: no entities, no DTD, no network, bounded size.

Every parser here refuses what an attacker would use (billion laughs, external entities,
XInclude, huge text nodes); limits come from the daemon's configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from hvd_netconf.errors import MalformedMessage, TooBig


@dataclass(frozen=True)
class XmlLimits:
    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 2_000_000


DEFAULT_LIMITS = XmlLimits()


class _NoResolver(etree.Resolver):
    """libxml2 still asks for an external DTD subset; answer with nothing, never a file."""

    # lxml calls resolve(url, public_id, context); lxml-stubs leaves context out.
    def resolve(self, system_url: str, public_id: str, context: object) -> object:  # type: ignore[override]
        return self.resolve_string("", context, base_url=None)


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        collect_ids=False,
    )
    parser.resolvers.add(_NoResolver())
    return parser


_local = threading.local()


def _thread_parser() -> etree.XMLParser:
    """One parser per thread: building one costs ~10 us a message, and lxml parsers are not
    safe to share between threads."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = _parser()
    return parser


def parse(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse one untrusted document; raise MalformedMessage or TooBig, never anything else."""
    if len(data) > limits.max_bytes:
        raise TooBig(f"message of {len(data)} bytes exceeds the limit of {limits.max_bytes}")
    try:
        root = etree.fromstring(data, _thread_parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedMessage(f"XML is not well-formed: {exc}") from None
    except ValueError as exc:
        raise MalformedMessage(f"XML could not be parsed: {exc}") from None
    doc = root.getroottree()
    if doc.docinfo.doctype:  # type: ignore[union-attr]  # lxml-stubs' DocInfo lacks doctype
        raise MalformedMessage("a DOCTYPE is not allowed in NETCONF messages")
    check_shape(root, limits, len(data))
    return root


_too_deep: dict[int, etree.XPath] = {}


def _plain_shape(root: etree._Element, limits: XmlLimits, size: int | None) -> bool:
    """True when the tree is within the limits and holds no entity, checked in libxml2
    (a big edit-config has tens of thousands of elements); False says look closer.

    A document of `size` bytes has at most size/3 nodes ("<a/>", "&a;") and nests at most
    (size - 3)/7 levels below its root ("<a>...</a>" per level): most RPCs are too short
    to break either limit, and skip both XPath counts."""
    if next(root.iter(etree.Entity), None) is not None:
        return False
    if size is not None and size < 7 * limits.max_depth and size // 3 <= limits.max_elements:
        return True
    xp = _too_deep.get(limits.max_depth)
    if xp is None:
        xp = _too_deep[limits.max_depth] = etree.XPath(
            "boolean(" + "*/" * (limits.max_depth - 1) + "node()[not(self::text())])")
    return xpath_number(_count, root) <= limits.max_elements and not xp(root)


_count = etree.XPath("count(descendant-or-self::node()[not(self::text())])")


def check_shape(root: etree._Element, limits: XmlLimits = DEFAULT_LIMITS,
                size: int | None = None) -> None:
    """Bound nesting depth and element count in one pass; leftover entity nodes are refused.
    `size` is the document's length in bytes when known."""
    if _plain_shape(root, limits, size):
        return
    count = 0
    stack = [(root, 1)]
    while stack:
        el, depth = stack.pop()
        if isinstance(el, etree._Entity):
            raise MalformedMessage("entity references are not allowed")
        count += 1
        if count > limits.max_elements:
            raise TooBig(f"message has more than {limits.max_elements} elements")
        if depth > limits.max_depth:
            raise MalformedMessage(f"XML nesting deeper than {limits.max_depth} levels")
        stack.extend((child, depth + 1) for child in el)


def parse_file(path: str, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse a file under the root the same way as wire input: hand-edited files are untrusted."""
    with open(path, "rb") as f:
        return parse(f.read(), limits)


# lxml adapters: lxml-stubs types every XPath result as any XPath value, XPath variables as
# anything but elements, and attributes as str or bytes. What hvd's own expressions and
# parsed trees give is narrower; these say so once (docs/typing.md).
XPathVar = str | float | bool | etree._Element | list[etree._Element]


def _evaluate(xp: etree.XPath, node: etree._Element, variables: Mapping[str, XPathVar]) -> object:
    return xp(node, **cast("dict[str, Any]", variables))


def xpath_nodes(xp: etree.XPath, node: etree._Element,
                **variables: XPathVar) -> list[etree._Element]:
    """The elements an XPath that selects elements finds."""
    return cast("list[etree._Element]", _evaluate(xp, node, variables))


def xpath_number(xp: etree.XPath, node: etree._Element, **variables: XPathVar) -> float:
    """The value of a numeric XPath such as count()."""
    return cast(float, _evaluate(xp, node, variables))


def xpath_value(xp: etree.XPath, node: etree._Element, **variables: XPathVar) -> object:
    """The value of any XPath, for a caller that looks at what it got."""
    return _evaluate(xp, node, variables)


def attributes(el: etree._Element) -> dict[str, str]:
    """A plain copy of el's attributes (str names and values in any tree lxml parsed)."""
    return cast("dict[str, str]", dict(el.attrib))
