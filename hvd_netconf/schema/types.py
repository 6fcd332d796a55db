"""YANG built-in and derived types compiled to value checkers with canonical forms.

Every level of a typedef chain keeps its own restrictions, so a failing value reports the
error-message and error-app-tag of the statement it actually broke (RFC 7950 §9).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from hvd_netconf.errors import InvalidValue

# A pyang statement (pyang.statements.Statement). pyang has no types, so it is Any here; this
# module and loader.py are pyang's adapter, and only YangType and SchemaNode leave them.
Statement = Any


class LeafrefTarget(Protocol):
    """The node a leafref points at (a schema.nodes.SchemaNode, which is built from types,
    so types names only what it reads of it)."""

    ns: str
    prefix: str
    type: YangType | None


INT_BOUNDS: dict[str, tuple[int, int]] = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1),
    "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
}
BUILTINS = frozenset(
    [*INT_BOUNDS, "decimal64", "string", "boolean", "enumeration", "bits", "binary",
     "leafref", "identityref", "empty", "union", "instance-identifier"]
)

_INT_RE = re.compile(r"[+-]?[0-9]+")
_DEC_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
_B64_RE = re.compile(r"[A-Za-z0-9+/\s]*=?\s*=?\s*")


class Restriction:
    """One range/length/pattern statement with the error text the model gives for it."""

    __slots__ = ("app_tag", "kind", "message", "test", "text")

    def __init__(self, kind: str, text: str, test: Callable[[object], bool],
                 message: str | None, app_tag: str | None) -> None:
        self.kind = kind
        self.text = text
        self.test = test
        self.message = message
        self.app_tag = app_tag


def xsd_to_python(pattern: str) -> str | None:
    """Translate an XSD regex to Python `re` syntax; None when it uses XSD-only features."""
    out: list[str] = []
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            nxt = pattern[i + 1]
            if nxt in "pPiIcC":
                return None
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
            elif c == "-" and i + 1 < n and pattern[i + 1] == "[":
                return None  # character class subtraction
            elif c == "[":
                out.append("\\[")
                i += 1
                continue
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if i + 1 < n and pattern[i + 1] == "^":
                out.append("^")
                i += 1
        elif c in "^$":
            out.append("\\" + c)
        elif c == ".":
            out.append("[^\\n\\r]")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def compile_pattern(pattern: str, invert: bool) -> Callable[[object], bool]:
    """A full-match test; XSD-only syntax falls back to pyang's XSD (libxml2) matcher."""
    py = xsd_to_python(pattern)
    if py is not None:
        try:
            rx = re.compile(py, re.DOTALL)
        except re.error:
            rx = None
        if rx is not None:
            full = rx.fullmatch
            if invert:
                return lambda v: full(v) is None  # type: ignore[call-overload]
            return lambda v: full(v) is not None  # type: ignore[call-overload]
    from pyang.types import XSDPattern

    xsd = XSDPattern(pattern, None, invert)
    return lambda v: bool(xsd(v))


def parse_intervals(expr: str, lo: object, hi: object,
                    conv: Callable[[str], object]) -> list[tuple[object, object]]:
    """`1..32 | 64` -> [(1, 32), (64, 64)] with min/max replaced by the base bounds."""
    parts = []
    for part in expr.split("|"):
        bounds = [b.strip() for b in part.split("..")]
        vals = [lo if b == "min" else hi if b == "max" else conv(b) for b in bounds]
        parts.append((vals[0], vals[-1]))
    return parts


def _in(intervals: list[tuple[object, object]]) -> Callable[[object], bool]:
    return lambda v: any(a <= v <= b for a, b in intervals)  # type: ignore[operator]


class YangType:
    """A resolved type: built-in base, every restriction along the typedef chain, canonicaliser."""

    __slots__ = (
        "_cache", "base", "bits", "enums", "fraction_digits", "leafref_path", "lengths",
        "members", "name", "patterns", "ranges", "require_instance", "target",
    )

    def __init__(self, name: str, base: str) -> None:
        self.name = name
        self.base = base
        self.ranges: list[Restriction] = []
        self.lengths: list[Restriction] = []
        self.patterns: list[Restriction] = []
        self.enums: dict[str, int] = {}
        self.bits: dict[str, int] = {}
        self.fraction_digits = 0
        self.leafref_path: str | None = None
        self.require_instance = True
        self.target: LeafrefTarget | None = None
        self.members: list[YangType] = []
        self._cache: dict[str, str | InvalidValue] = {}

    def __repr__(self) -> str:
        return f"<YangType {self.name} ({self.base})>"

    def check(self, text: str | None) -> str:
        """Return the canonical form of `text` or raise InvalidValue; results are memoised."""
        text = text or ""
        hit = self._cache.get(text)
        if hit is None:
            try:
                hit = self._check(text)
            except InvalidValue as exc:
                hit = exc
            if len(self._cache) < 4096:
                self._cache[text] = hit
        if isinstance(hit, InvalidValue):
            raise InvalidValue(hit.message, app_tag=hit.app_tag)
        return hit

    def _fail(self, restriction: Restriction | None, default: str) -> InvalidValue:
        if restriction is not None:
            return InvalidValue(restriction.message or default, app_tag=restriction.app_tag)
        return InvalidValue(default)

    def _check(self, text: str) -> str:
        base = self.base
        if base in INT_BOUNDS:
            s = text.strip()
            if not _INT_RE.fullmatch(s):
                raise InvalidValue(f"{text!r} is not a valid {base}")
            v = int(s)
            lo, hi = INT_BOUNDS[base]
            if not lo <= v <= hi:
                raise InvalidValue(f"{v} is out of the {base} range {lo}..{hi}")
            for r in self.ranges:
                if not r.test(v):
                    raise self._fail(r, f"{v} is outside the range {r.text}")
            return str(v)
        if base == "decimal64":
            s = text.strip()
            if not _DEC_RE.fullmatch(s):
                raise InvalidValue(f"{text!r} is not a valid decimal64")
            d = Decimal(s)
            if d != d.quantize(Decimal(1).scaleb(-self.fraction_digits)):
                raise InvalidValue(
                    f"{text!r} has more than {self.fraction_digits} fraction digits")
            for r in self.ranges:
                if not r.test(d):
                    raise self._fail(r, f"{s} is outside the range {r.text}")
            out = format(d.normalize(), "f")
            return out if "." in out else out + ".0"
        if base in ("string", "binary"):
            n = len(text)
            if base == "binary":
                import base64

                try:
                    n = len(base64.b64decode(text, validate=False))
                except ValueError:
                    raise InvalidValue(f"{text!r} is not valid base64") from None
            for r in self.lengths:
                if not r.test(n):
                    raise self._fail(r, f"length {n} is outside {r.text}")
            for r in self.patterns:
                if not r.test(text):
                    raise self._fail(r, f"{text!r} does not match the pattern {r.text!r}")
            return text
        if base == "boolean":
            if text in ("true", "false"):
                return text
            raise InvalidValue(f"{text!r} is not a boolean (true or false)")
        if base == "enumeration":
            if text in self.enums:
                return text
            raise InvalidValue(f"{text!r} is not one of {', '.join(self.enums)}")
        if base == "bits":
            names = text.split()
            bad = [b for b in names if b not in self.bits]
            if bad or len(set(names)) != len(names):
                raise InvalidValue(f"{text!r} is not a set of bits from {', '.join(self.bits)}")
            return " ".join(sorted(set(names), key=self.bits.__getitem__))
        if base == "empty":
            if text.strip():
                raise InvalidValue("an empty leaf has no value")
            return ""
        if base == "leafref":
            if self.target is not None and self.target.type is not None:
                return self.target.type.check(text)
            return text
        if base == "union":
            for m in self.members:
                try:
                    return m.check(text)
                except InvalidValue:
                    continue
            raise InvalidValue(f"{text!r} matches none of the union's types")
        return text  # identityref, instance-identifier: lexical checks happen elsewhere


def decimal_conv(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None


def compile_type(type_stmt: Statement) -> YangType:
    """Walk a pyang `type` statement and its typedef chain into a YangType."""
    chain = []
    t = type_stmt
    while True:
        chain.append(t)
        typedef = getattr(t, "i_typedef", None)
        if typedef is None or t.arg in BUILTINS:
            break
        t = typedef.search_one("type")
    base = chain[-1].arg
    base = base.split(":")[-1]
    yt = YangType(type_stmt.arg, base)
    for t in reversed(chain):  # most general first
        _add_restrictions(yt, t)
    if base == "leafref":
        for t in chain:
            p = t.search_one("path")
            if p is not None:
                yt.leafref_path = p.arg
                break
        for t in chain:
            ri = t.search_one("require-instance")
            if ri is not None:
                yt.require_instance = ri.arg == "true"
                break
    elif base == "union":
        yt.members = [compile_type(m) for m in chain[-1].search("type")]
    return yt


def _msg(stmt: Statement) -> tuple[str | None, str | None]:
    m = stmt.search_one("error-message")
    a = stmt.search_one("error-app-tag")
    return (m.arg if m is not None else None, a.arg if a is not None else None)


def _numbered(stmts: list[Statement], number: str) -> dict[str, int]:
    """Enum values or bit positions: explicit, or one more than the previous (RFC 7950 9.6.4.2,
    9.7.4.2)."""
    out: dict[str, int] = {}
    auto = 0
    for stmt in stmts:
        given = stmt.search_one(number)
        out[stmt.arg] = auto = int(given.arg) if given is not None else auto
        auto += 1
    return out


def _add_restrictions(yt: YangType, t: Statement) -> None:
    base = yt.base
    r = t.search_one("range")
    if r is not None:
        if base in INT_BOUNDS:
            lo, hi = INT_BOUNDS[base]
            iv = parse_intervals(r.arg, lo, hi, int)
        else:
            iv = parse_intervals(r.arg, Decimal("-Infinity"), Decimal("Infinity"), decimal_conv)
        yt.ranges.append(Restriction("range", r.arg, _in(iv), *_msg(r)))
    ln = t.search_one("length")
    if ln is not None:
        iv = parse_intervals(ln.arg, 0, 2**64 - 1, int)
        yt.lengths.append(Restriction("length", ln.arg, _in(iv), *_msg(ln)))
    for p in t.search("pattern"):
        invert = p.search_one("modifier", arg="invert-match") is not None
        yt.patterns.append(
            Restriction("pattern", p.arg, compile_pattern(p.arg, invert), *_msg(p)))
    fd = t.search_one("fraction-digits")
    if fd is not None:
        yt.fraction_digits = int(fd.arg)
    enums = t.search("enum")
    if enums:
        yt.enums = _numbered(enums, "value")
    bits = t.search("bit")
    if bits:
        yt.bits = _numbered(bits, "position")
