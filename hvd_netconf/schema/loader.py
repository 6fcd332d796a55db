"""Parse and validate the YANG modules once with pyang, then compile them to SchemaNodes."""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from pyang import context, error, repository

from hvd_netconf.schema.nodes import Module, Schema, SchemaNode
from hvd_netconf.schema.types import Statement, YangType, compile_type
from hvd_netconf.schema.xpath import YangXPath, prefix_for

log = logging.getLogger(__name__)
REQUIRED = frozenset({"hvd-types", "hvd-vm", "hvd-network"})
_DATA_KINDS = {"container": "container", "list": "list", "leaf": "leaf",
               "leaf-list": "leaf-list", "anyxml": "anydata", "anydata": "anydata"}
_cache: dict[Path, Schema] = {}
_Leafrefs = list[tuple[SchemaNode, Statement]]  # leafref and union leaves, to resolve last
_ByStmt = dict[int, SchemaNode]  # id() of a pyang statement -> the node compiled from it
_cache_lock = threading.Lock()


class SchemaLoadError(Exception):
    """The YANG directory is missing or a module hvd needs does not compile."""


def default_yang_dir() -> Path:
    """HVD_YANG_DIR, else the source tree's yang/, else the installed share/yang."""
    env = os.environ.get("HVD_YANG_DIR")
    candidates = [Path(env)] if env else []
    candidates += [
        Path(__file__).resolve().parents[2] / "yang",
        Path(sys.prefix) / "share" / "yang",
        Path("/usr/local/share/yang"),
    ]
    for c in candidates:
        if c.is_dir() and any(c.glob("*.yang")):
            return c
    raise SchemaLoadError(f"no YANG directory found (tried {', '.join(map(str, candidates))})")


def load_schema(yang_dir: Path | None = None) -> Schema:
    """The compiled schema of every module in the directory (and its ietf/), cached per dir."""
    d = (Path(yang_dir) if yang_dir is not None else default_yang_dir()).resolve()
    with _cache_lock:
        schema = _cache.get(d)
        if schema is None:
            schema = _cache[d] = _load(d)
        return schema


def _load(d: Path) -> Schema:
    files = sorted(d.glob("*.yang")) + sorted((d / "ietf").glob("*.yang"))
    if not files:
        raise SchemaLoadError(f"no YANG modules in {d}")
    search = os.pathsep.join(str(p) for p in (d, d / "ietf") if p.is_dir())
    ctx = context.Context(repository.FileRepository(search, use_env=False))
    ctx.strict = True
    parsed = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        mod = ctx.add_module(str(f), text)
        if mod is not None and mod.keyword == "module":
            parsed.append((mod, f, text))
    ctx.validate()
    bad = {e[0].ref for e in ctx.errors if error.is_error(error.err_level(e[1]))}
    modules, stmts = [], []
    for mod, f, text in parsed:
        if str(f) in bad:
            continue
        rev = mod.search_one("revision")
        modules.append(Module(mod.arg, rev.arg if rev is not None else None,
                              mod.search_one("namespace").arg, mod.search_one("prefix").arg,
                              f, text))
        stmts.append(mod)
    msgs = {f: [f"{e[0]}: {error.err_to_str(e[1], e[2])}" for e in ctx.errors
                if e[0].ref == f and error.is_error(error.err_level(e[1]))] for f in bad}
    for f in sorted(bad):
        if Path(f).stem in REQUIRED:
            raise SchemaLoadError("YANG module does not compile: " + "; ".join(msgs[f]))
        log.warning("skipping YANG module pyang rejects: %s", "; ".join(msgs[f]) or f)
    schema = Schema(d, modules)
    leafrefs: list[tuple[SchemaNode, object]] = []
    by_stmt: dict[int, SchemaNode] = {}
    for mod in stmts:
        for s in mod.i_children:
            if s.keyword in _DATA_KINDS:
                node = _compile(s, None, True, leafrefs, by_stmt)
                schema.tops.append(node)
                schema.by_tag[node.tag] = node
            elif s.keyword == "rpc":
                inp = s.search_one("input")
                node = _root("input", s, leafrefs, by_stmt, inp)
                schema.rpcs[node.tag] = node
                out = _root("output", s, leafrefs, by_stmt, s.search_one("output"))
                schema.outputs[out.tag] = out
            elif s.keyword == "notification":
                node = _root("notification", s, leafrefs, by_stmt, s)
                schema.notifications[node.tag] = node
    for node, stmt in leafrefs:
        ptr = getattr(stmt, "i_leafref_ptr", None)
        if ptr is not None and node.type is not None:
            target = by_stmt.get(id(ptr[0]))
            _set_target(node.type, target)
    return schema


def _set_target(yt: YangType, target: SchemaNode | None) -> None:
    if yt.base == "leafref":
        yt.target = target
    for m in yt.members:
        _set_target(m, target)


def _ident(stmt: Statement) -> tuple[str, str]:
    mod = stmt.i_module
    main = mod.i_modulename if hasattr(mod, "i_modulename") else mod.arg
    ns = mod.search_one("namespace")
    if ns is None:  # submodule: the namespace of the module it belongs to
        ns = mod.i_ctx.get_module(main).search_one("namespace")
    prefix = mod.i_ctx.get_module(main).search_one("prefix").arg
    return ns.arg, prefix_for(ns.arg, prefix)


def _root(kind: str, s: Statement, leafrefs: _Leafrefs, by_stmt: _ByStmt, holder: Statement | None
          ) -> SchemaNode:
    ns, prefix = _ident(s)
    node = SchemaNode(kind, s.arg, ns, prefix, s.i_module.arg, None)
    node.config = False
    if holder is not None:
        _compile_children(holder, node, False, leafrefs, by_stmt)
    return node


def _compile_children(stmt: Statement, node: SchemaNode, config: bool, leafrefs: _Leafrefs,
                      by_stmt: _ByStmt, case: tuple[str, str] | None = None) -> None:
    for c in getattr(stmt, "i_children", []):
        if c.keyword in _DATA_KINDS:
            child = _compile(c, node, config, leafrefs, by_stmt)
            child.case = case
            node.add(child)
        elif c.keyword == "choice":
            for cs in c.i_children:
                if cs.keyword == "case":
                    _compile_children(cs, node, config, leafrefs, by_stmt, (c.arg, cs.arg))
                elif cs.keyword in _DATA_KINDS:  # shorthand case
                    child = _compile(cs, node, config, leafrefs, by_stmt)
                    child.case = (c.arg, cs.arg)
                    node.add(child)


def _xpaths(stmt: Statement, keyword: str) -> list[YangXPath]:
    mod = stmt.i_orig_module if hasattr(stmt, "i_orig_module") else stmt.i_module
    ns = mod.search_one("namespace")
    if ns is None:
        ns = mod.i_ctx.get_module(mod.i_modulename).search_one("namespace")
    pmap = {p: mod.i_ctx.get_module(m, r).search_one("namespace").arg
            for p, (m, r) in mod.i_prefixes.items()
            if mod.i_ctx.get_module(m, r) is not None}
    out = []
    for s in stmt.search(keyword):
        msg = s.search_one("error-message")
        tag = s.search_one("error-app-tag")
        out.append(YangXPath(s.arg, ns.arg, mod.search_one("prefix").arg if
                             mod.keyword == "module" else "", pmap,
                             msg.arg if msg is not None else None,
                             tag.arg if tag is not None else None))
    return out


def _compile(s: Statement, parent: SchemaNode | None, config: bool, leafrefs: _Leafrefs,
             by_stmt: _ByStmt) -> SchemaNode:
    ns, prefix = _ident(s)
    node = SchemaNode(_DATA_KINDS[s.keyword], s.arg, ns, prefix,
                      s.i_module.arg, parent)
    by_stmt[id(s)] = node
    cfg = s.search_one("config")
    node.config = config and (cfg is None or cfg.arg == "true")
    m = s.search_one("mandatory")
    node.mandatory = m is not None and m.arg == "true"
    node.presence = s.search_one("presence") is not None
    ob = s.search_one("ordered-by")
    node.ordered_by_user = ob is not None and ob.arg == "user"
    mn = s.search_one("min-elements")
    node.min_elements = int(mn.arg) if mn is not None else 0
    mx = s.search_one("max-elements")
    node.max_elements = int(mx.arg) if mx is not None and mx.arg != "unbounded" else None
    u = s.search_one("units")
    node.units = u.arg if u is not None else None
    d = s.search_one("description")
    node.description = " ".join(d.arg.split()) if d is not None else None
    whens = _xpaths(s, "when")
    node.when = whens[0] if whens else None
    node.musts = _xpaths(s, "must")
    if node.kind == "list":
        k = s.search_one("key")
        node.keys = tuple(k.arg.split()) if k is not None else ()
        node.keys = tuple(x.split(":")[-1] for x in node.keys)
    t = s.search_one("type")
    if t is not None:
        node.type = compile_type(t)
        node.default = _default(s, t)
        if node.type.base in ("leafref", "union"):
            leafrefs.append((node, s))
    _compile_children(s, node, node.config, leafrefs, by_stmt)
    if node.kind == "list":
        node.key_nodes = tuple(node.child(ns, k) for k in node.keys)  # type: ignore[misc]
        for kn in node.key_nodes:
            kn.is_key = True
    if node.default is not None and node.type is not None:
        node.default = node.type.check(node.default)
    return node


def _default(s: Statement, t: Statement) -> str | None:
    """The leaf's own default, else the nearest typedef's (RFC 7950 §7.6.1)."""
    if s.keyword != "leaf" or s.search_one("mandatory", arg="true") is not None:
        return None
    d = s.search_one("default")
    while d is None and getattr(t, "i_typedef", None) is not None:
        td = t.i_typedef
        d = td.search_one("default")
        t = td.search_one("type")
    return d.arg if d is not None else None
