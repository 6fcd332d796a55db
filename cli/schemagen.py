"""Derive the grammar's schema facts from the YANG modules, once, at build time.

The one-shot CLI must not load pyang (hundreds of ms), so the facts it needs (property names,
types, ranges, patterns, enums, defaults) are written to cli/schema_facts.py by this module and
a test checks that file against the YANG. Run: python -m hv_cli.schemagen [YANG_DIR] > out.
"""

from __future__ import annotations

import pprint
import sys
from pathlib import Path
from typing import Any

INT_BOUNDS = {
    "int8": (-(2**7), 2**7 - 1), "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1),
    "uint8": (0, 2**8 - 1), "uint16": (0, 2**16 - 1),
    "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1),
}
MODULES = ("hvd-types", "hvd-network", "hvd-vm", "hvd-system", "hvd-template")
# RFC 7951 §6.1-6.9: these built-in types are JSON numbers, booleans or [null]; every other
# type (int64, uint64 and decimal64 included, §6.1) is a JSON string.
JSON_KINDS = {**{t: "number" for t in ("int8", "int16", "int32", "uint8", "uint16", "uint32")},
              "boolean": "bool", "empty": "empty"}

Fact = dict[str, Any]


def _ranges(expr: str, lo: int, hi: int) -> list[list[int]]:
    out = []
    for part in expr.split("|"):
        ends = [e.strip() for e in part.split("..")]
        vals = [lo if e == "min" else hi if e == "max" else int(e) for e in ends]
        out.append([vals[0], vals[-1]])
    return out


def _first_sentence(stmt: Any) -> str:
    desc = stmt.search_one("description")
    if desc is None:
        return ""
    text = " ".join(desc.arg.split())
    return text.split(". ")[0].rstrip(".")


def _ref_target(path: str) -> str:
    """The object a leafref points at, named as the grammar names objects."""
    parts = [p.split(":")[-1] for p in path.split("/") if p and p != ".."]
    return parts[-2]


def _type_fact(type_stmt: Any) -> Fact:
    """Walk the typedef chain, collecting restrictions, down to the built-in type."""
    fact: Fact = {}
    patterns: list[list[Any]] = []
    stmt = type_stmt
    while True:
        for sub in ("range", "length"):
            s = stmt.search_one(sub)
            if s is not None and sub not in fact:
                fact[sub] = s.arg
        for p in stmt.search("pattern"):
            if "\\p{" in p.arg:  # Python's re has no \p{..} classes: the server checks it
                continue
            inv = p.search_one("modifier")
            msg = p.search_one("error-message")
            patterns.append([p.arg, inv is not None and inv.arg == "invert-match",
                             msg.arg if msg is not None else ""])
        if stmt.arg == "enumeration":
            fact["enums"] = [e.arg for e in stmt.search("enum")]
        if stmt.arg == "leafref":
            fact["ref"] = _ref_target(stmt.search_one("path").arg)
        typedef = getattr(stmt, "i_typedef", None)
        if typedef is None:
            break
        stmt = typedef.search_one("type")
    base = stmt.arg
    if base in INT_BOUNDS:
        lo, hi = INT_BOUNDS[base]
        fact["kind"] = "int"
        fact["range"] = _ranges(fact.get("range", "min..max"), lo, hi)
    elif base == "boolean":
        fact["kind"] = "bool"
    elif base == "enumeration":
        fact["kind"] = "enum"
    elif base == "leafref":
        fact["kind"] = "ref"
    else:
        fact["kind"] = "string"
    if "length" in fact:
        fact["length"] = _ranges(fact["length"], 0, 2**32 - 1)
    if patterns:
        fact["patterns"] = patterns
    return fact


def _leaf(stmt: Any, name: str) -> Fact:
    fact = {"name": name, **_type_fact(stmt.search_one("type"))}
    for sub in ("default", "units"):
        s = stmt.search_one(sub)
        if s is not None:
            fact[sub] = s.arg
    mand = stmt.search_one("mandatory")
    if mand is not None and mand.arg == "true":
        fact["mandatory"] = True
    if stmt.search_one("when") is not None:
        fact["when"] = stmt.search_one("when").arg
    fact["help"] = _first_sentence(stmt)
    return fact


def _leaves(node: Any, prefix: str = "", presence: str = "") -> list[Fact]:
    """Config leaves of a list entry; containers flatten to dotted names (loader.type). A leaf
    in a presence container names it: its default holds only where the container exists
    (RFC 7950 §7.6.1)."""
    out: list[Fact] = []
    for child in node.i_children:
        if not getattr(child, "i_config", True):
            continue
        if child.keyword == "leaf":
            fact = _leaf(child, prefix + child.arg)
            if presence:
                fact["presence"] = presence
            out.append(fact)
        elif child.keyword == "container":
            inner = f"{prefix}{child.arg}"
            held = inner if child.search_one("presence") is not None else presence
            out.extend(_leaves(child, inner + ".", held))
        elif child.keyword in ("choice", "case"):  # a choice's leaves are its parent's
            out.extend(_leaves(child, prefix, presence))
    return out


def _builtin(type_stmt: Any) -> str:
    stmt = type_stmt
    while getattr(stmt, "i_typedef", None) is not None:
        stmt = stmt.i_typedef.search_one("type")
    if stmt.arg == "leafref":
        target = getattr(stmt, "i_type_spec", None)
        target_node = getattr(target, "i_target_node", None)
        if target_node is not None:
            return _builtin(target_node.search_one("type"))
    name: str = stmt.arg
    return name


def _json_kinds(node: Any, path: str, out: dict[str, str]) -> None:
    """Leaves (config and state) whose JSON form is not a string, by their path of names."""
    for child in getattr(node, "i_children", ()):
        if child.keyword in ("choice", "case"):
            _json_kinds(child, path, out)
            continue
        here = f"{path}/{child.arg}"
        if child.keyword in ("leaf", "leaf-list"):
            kind = JSON_KINDS.get(_builtin(child.search_one("type")))
            if kind:
                out[here] = kind
        elif child.keyword in ("container", "list", "output"):
            _json_kinds(child, here, out)


def _state(node: Any) -> list[str]:
    state = next(c for c in node.i_children if c.arg == "state")
    return [c.arg for c in state.i_children]


def generate(yang_dir: Path) -> dict[str, Any]:
    from pyang import context, repository

    ctx = context.Context(repository.FileRepository(str(yang_dir), use_env=False))
    mods = {n: ctx.add_module(f"{n}.yang", (yang_dir / f"{n}.yang").read_text()) for n in MODULES}
    ctx.validate()
    vm_mod, net_mod = mods["hvd-vm"], mods["hvd-network"]
    vm = vm_mod.search_one("container", "vms").search_one("list", "vm")
    net = net_mod.search_one("container", "networks").search_one("list", "network")
    objects = {
        "vm": vm,
        "disk": vm.search_one("list", "disk"),
        "nic": vm.search_one("list", "nic"),
        "network": net,
        "forward": net.search_one("list", "forward"),
        "backup-target": vm_mod.search_one("container", "backup-targets").search_one(
            "list", "backup-target"),
        "resource-pool": vm_mod.search_one("container", "resource-pools").search_one(
            "list", "resource-pool"),
    }
    facts: dict[str, Any] = {
        "objects": {
            name: {
                "key": node.search_one("key").arg,
                "max-elements": int(m.arg) if (m := node.search_one("max-elements")) else None,
                "props": _leaves(node),
                "help": _first_sentence(node),
            }
            for name, node in objects.items()
        },
        "state": {"vm": _state(vm), "network": _state(net)},
        "rpcs": {},
        "json": {},
    }
    for top in (vm_mod.search_one("container", "vms"), net_mod.search_one("container", "networks"),
                mods["hvd-system"].search_one("container", "host"),
                vm_mod.search_one("container", "snapshots")):
        _json_kinds(top, top.arg, facts["json"])
    guest_rpcs = [*vm_mod.search("rpc"), *mods["hvd-template"].search("rpc")]
    for rpc in [*mods["hvd-system"].search("rpc"), *guest_rpcs]:
        output = rpc.search_one("output")
        if output is not None:
            _json_kinds(output, rpc.arg, facts["json"])
    for rpc in guest_rpcs:
        inp = rpc.search_one("input")
        facts["rpcs"][rpc.arg] = {
            "help": _first_sentence(rpc),
            "input": [_leaf(c, c.arg) for c in inp.i_children] if inp is not None else [],
        }
    return facts


def render(facts: dict[str, Any]) -> str:
    body = pprint.pformat(facts, width=100, sort_dicts=False)
    return (
        '"""Schema facts for the grammar, generated from yang/ by hv_cli.schemagen; do not edit.'
        '"""\n\n# ruff: noqa: E501\nFACTS = ' + body + "\n"
    )


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "yang"
    sys.stdout.write(render(generate(root)))


if __name__ == "__main__":
    main()
