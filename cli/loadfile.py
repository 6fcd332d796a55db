"""A configuration file, as `hv show ... --xml` and get-config print it, read for `load`/`edit`.

The file's top element may be <data> or <config> (any namespace) around the configuration,
or one configuration container itself; operational state (`state` of a vm or network, as
`show --xml` includes it) is left out, since it is no configuration. Parsed with expat like
the replies, and a DOCTYPE is refused before parsing, so no entity is ever expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hv_cli.facts import STATE, UsageError
from hv_cli.rpcs import OP, El

from hvd_netconf.namespaces import BASE

WRAPPERS = ("data", "config")
MAX_FILE = 64 << 20  # bytes


def _local(tag: str) -> tuple[str, str]:
    ns, _, name = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
    return ns, name


def _convert(node: ET.Element, parent_ns: str, where: str) -> El:
    ns, name = _local(node.tag)
    attrs: dict[str, str] = {}
    if ns != parent_ns:
        attrs["xmlns"] = ns
    for key, value in node.attrib.items():
        if key != OP:
            raise UsageError(f"{where}: attribute '{_local(key)[1]}' of <{name}> is not "
                             "supported (only nc:operation is)")
        attrs["xmlns:nc"] = BASE
        attrs[OP] = value
    kids = [c for c in node if not (name in STATE and _local(c.tag)[1] == "state")]
    if kids:
        return El(name, [_convert(c, ns, where) for c in kids], None, attrs)
    return El(name, [], node.text or "", attrs)


def parse(text: str, where: str) -> list[El]:
    """The configuration's top containers; UsageError naming `where` when it is not XML."""
    if len(text) > MAX_FILE:
        raise UsageError(f"{where}: larger than {MAX_FILE >> 20} MB")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise UsageError(f"{where}: a DOCTYPE is not accepted")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise UsageError(f"{where}: not well-formed XML: {exc}") from None
    return tops(root, where)


def tops(root: ET.Element, where: str) -> list[El]:
    """The top containers under a <data>/<config> wrapper, or the root itself."""
    found = list(root) if _local(root.tag)[1] in WRAPPERS else [root]
    return [_convert(top, "", where) for top in found]
