"""Every import of hvd_netconf and hv_cli goes down the floors of hvd_netconf.layers, never up,
and no modules import each other in a circle. Module-level, TYPE_CHECKING and function-local
imports all count; a function-local import must be one of the listed deliberate ones."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from hvd_netconf.layers import LAYERS, LAZY_IMPORTS, floor_of

REPO = Path(__file__).resolve().parent.parent
PACKAGES = {"hvd_netconf": REPO / "hvd_netconf", "hv_cli": REPO / "cli"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    where: str  # "top", "TYPE_CHECKING" or "function"
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.where} import, line {self.line})"


def _modules() -> dict[str, Path]:
    found = {}
    for pkg, root in PACKAGES.items():
        for path in root.rglob("*.py"):
            parts = [pkg, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


def edges_of(module: str, path: Path, known: set[str]) -> list[Edge]:
    """The imports of one module that name a module of ours, resolved to that module
    (`from pkg import sub` is an import of pkg.sub when sub is a module)."""
    out: list[Edge] = []

    def add(target: str, names: list[str], where: str, line: int) -> None:
        subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in known]
        for t in subs or [target]:
            if t.split(".")[0] in PACKAGES and t != module:
                out.append(Edge(module, t, where, line))

    def visit(node: ast.AST, where: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = where
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                inner = "function"
            elif isinstance(child, ast.If) and where == "top" and _type_checking(child.test):
                inner = "TYPE_CHECKING"
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, [], inner, child.lineno)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    if not _is_package(path):
                        base = base[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    target = child.module or ""
                add(target, [a.name for a in child.names], inner, child.lineno)
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), "top")
    return out


def all_edges() -> list[Edge]:
    mods = _modules()
    known = set(mods)
    return [e for m, p in sorted(mods.items()) for e in edges_of(m, p, known)]


def upward(edges: list[Edge]) -> list[str]:
    """Imports of a module on a higher floor, named with both floors."""
    bad = []
    for e in edges:
        src, dst = floor_of(e.source), floor_of(e.target)
        if src is not None and dst is not None and dst > src:
            bad.append(f"{e} goes up from {LAYERS[src][0]} to {LAYERS[dst][0]}")
    return bad


def circles(edges: list[Edge]) -> list[list[str]]:
    """Each set of modules that import each other, directly or round about (Tarjan's SCCs)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_every_module_has_a_floor():
    unplaced = [m for m in sorted(_modules()) if floor_of(m) is None]
    assert not unplaced, f"add these modules to hvd_netconf/layers.py LAYERS: {unplaced}"


def test_no_import_goes_up_a_floor():
    bad = upward(all_edges())
    assert not bad, "imports up the floors of hvd_netconf/layers.py:\n" + "\n".join(bad)


def test_no_import_circle():
    found = circles(all_edges())
    assert not found, "modules importing each other in a circle: " + "; ".join(
        " <-> ".join(c) for c in found)


def test_function_local_imports_are_only_the_deliberate_ones():
    local = {(e.source, e.target): e for e in all_edges() if e.where == "function"}
    stray = [str(e) for k, e in sorted(local.items()) if k not in LAZY_IMPORTS]
    assert not stray, "move these imports to the top of their module:\n" + "\n".join(stray)
    stale = sorted(set(LAZY_IMPORTS) - set(local))
    assert not stale, f"LAZY_IMPORTS lists imports that are no longer lazy: {stale}"


def test_the_hv_cli_imports_only_the_floors_below_it():
    cli = next(i for i, (name, _) in enumerate(LAYERS) if name == "cli")
    targets = {e.target for e in all_edges() if e.source.startswith("hv_cli")}
    assert targets and all(floor_of(t) <= cli for t in targets)


def test_the_checks_name_what_they_find(tmp_path):
    """An upward import and a circle, made up, are reported with the modules' names."""
    made_up = [Edge("hvd_netconf.keys", "hvd_netconf.server", "TYPE_CHECKING", 3),
               Edge("hvd_netconf.server", "hvd_netconf.keys", "top", 9)]
    assert upward(made_up) == ["hvd_netconf.keys -> hvd_netconf.server (TYPE_CHECKING import, "
                               "line 3) goes up from foundations to server"]
    assert circles(made_up) == [["hvd_netconf.keys", "hvd_netconf.server"]]
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import errors\n" \
          "def f():\n    from hvd_netconf.store import keys\n"
    path = tmp_path / "probe.py"
    path.write_text(src)
    got = edges_of("hvd_netconf.probe", path, {"hvd_netconf.errors"})
    assert [(e.target, e.where) for e in got] == [("hvd_netconf.errors", "TYPE_CHECKING"),
                                                  ("hvd_netconf.store", "function")]


def test_docs_list_the_floors_in_order():
    """docs/layers.md names the floors of LAYERS, bottom to top, in its table."""
    text = (REPO / "docs" / "layers.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| *\d+ *\| *([a-z]+) *\|", text, re.M)
    assert rows == [name for name, _ in LAYERS]
