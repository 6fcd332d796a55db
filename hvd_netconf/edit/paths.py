"""Instance paths for error-path and patches, and the yang:key predicates of RFC 7950 §7.8.6."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hvd_netconf.namespaces import PREFIXES

_PREFIX_OF = {ns: p for p, ns in reversed(PREFIXES.items())}

_PREDICATE = re.compile(
    r"""\[\s*(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*\]"""
)


def prefix(ns: str, fallback: str | None = None) -> str:
    """The prefix hvd renders for a namespace (module prefix when hvd knows none)."""
    return _PREFIX_OF.get(ns) or fallback or "ns"


def quote(value: str) -> str:
    return f'"{value}"' if "'" in value else f"'{value}'"


def step(ns: str, name: str) -> str:
    return f"/{prefix(ns)}:{name}"


def entry_step(ns: str, name: str, keys: Sequence[tuple[str, str]]) -> str:
    pre = prefix(ns)
    preds = "".join(f"[{pre}:{k}={quote(v)}]" for k, v in keys)
    return f"/{pre}:{name}{preds}"


def value_step(ns: str, name: str, value: str) -> str:
    return f"/{prefix(ns)}:{name}[.={quote(value)}]"


def parse_key_predicates(text: str) -> dict[str, str] | None:
    """`[vm:name='a'][vm:x="b"]` -> {'name': 'a', 'x': 'b'}; None when it is not that shape."""
    out: dict[str, str] = {}
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _PREDICATE.match(text, pos)
        if m is None:
            return None
        out[m.group(2)] = m.group(3) if m.group(3) is not None else m.group(4)
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out or None
