"""Schema facts the grammar needs (properties, types, ranges, enums, defaults) and local checks.

Values are checked here before anything is sent, so a typo costs no round trip; the server
checks again, so nothing depends on this being complete.
"""

from __future__ import annotations

import re
from typing import Any, cast

from hv_cli.schema_facts import FACTS

Fact = dict[str, Any]
# The generated table is one literal, so its parts are typed here, where they are read.
OBJECTS = cast("dict[str, Any]", FACTS["objects"])
STATE = cast("dict[str, list[str]]", FACTS["state"])
RPCS = cast("dict[str, Any]", FACTS["rpcs"])
JSON = cast("dict[str, str]", FACTS["json"])  # leaves that are not JSON strings (RFC 7951), by path


class UsageError(Exception):
    """Bad input found before anything was sent; the exit status is 2."""


def props(obj: str) -> dict[str, Fact]:
    """Settable properties of an object (the key is not settable)."""
    key = OBJECTS[obj]["key"]
    return {p["name"]: p for p in OBJECTS[obj]["props"] if p["name"] != key}


def prop(obj: str, name: str) -> Fact:
    try:
        return next(p for p in OBJECTS[obj]["props"] if p["name"] == name)
    except StopIteration:
        known = ", ".join(props(obj))
        raise UsageError(f"{obj} has no property '{name}' (one of: {known})") from None


def rpc_input(rpc: str, name: str) -> Fact:
    return next(p for p in RPCS[rpc]["input"] if p["name"] == name)


def key_fact(obj: str) -> Fact:
    return prop(obj, OBJECTS[obj]["key"])


def _spans(ranges: list[list[int]]) -> str:
    return "|".join(f"{lo}..{hi}" for lo, hi in ranges)


def hint(fact: Fact) -> str:
    """What a value may be, in a few characters: `1..32`, `uefi|bhyveload|grub`, `true|false`."""
    kind = fact["kind"]
    if kind == "int":
        return _spans(fact["range"])
    if kind == "enum":
        return "|".join(fact["enums"])
    if kind == "bool":
        return "true|false"
    if kind == "ref":
        return f"<{fact['ref']}>"
    if "length" in fact:
        return "string, length " + _spans(fact["length"])
    return "string"


MB_PER = {"m": 1, "g": 1024, "t": 1024 * 1024}
_SIZE = re.compile(r"(\d+)([mgt])i?b?", re.IGNORECASE)


def in_megabytes(value: str) -> str:
    """`1G`, `512M`, `2GiB` -> whole megabytes (the YANG's unit); other text as it is."""
    m = _SIZE.fullmatch(value.strip())
    return str(int(m.group(1)) * MB_PER[m.group(2).lower()]) if m else value


def check(fact: Fact, value: str, label: str | None = None) -> str:
    """Return the value in the form the server wants, or raise UsageError saying why not."""
    label = label or fact["name"]
    kind = fact["kind"]
    if kind == "int" and fact.get("units") == "megabytes":
        value = in_megabytes(value)
    if kind == "int":
        try:
            num = int(value, 10)
        except ValueError:
            sizes = " of megabytes or a size such as 512M or 2G" if "units" in fact and \
                fact["units"] == "megabytes" else ""
            raise UsageError(
                f"{label} must be a whole number{sizes} ({hint(fact)}), not '{value}'") from None
        if not any(lo <= num <= hi for lo, hi in fact["range"]):
            raise UsageError(f"{label} must be in {hint(fact)}, not {num}")
        return str(num)
    if kind == "bool":
        low = value.lower()
        if low in ("true", "yes", "on"):
            return "true"
        if low in ("false", "no", "off"):
            return "false"
        raise UsageError(f"{label} must be true or false, not '{value}'")
    if kind == "enum":
        if value not in fact["enums"]:
            raise UsageError(f"{label} must be one of {hint(fact)}, not '{value}'")
        return value
    if kind == "ref":
        return check(key_fact(fact["ref"]), value, label)
    if "length" in fact and not any(lo <= len(value) <= hi for lo, hi in fact["length"]):
        spans = _spans(fact["length"])
        raise UsageError(f"{label} must have a length in {spans}, not {len(value)}")
    for pattern, invert, message in fact.get("patterns", ()):
        if bool(re.fullmatch(pattern, value)) == invert:
            raise UsageError(f"{label} '{value}' is not valid: {message or 'bad format'}")
    return value
