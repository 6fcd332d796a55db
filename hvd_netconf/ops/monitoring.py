"""RFC 6022 /netconf-state and <get-schema>; RFC 8525 /yang-library and its capability.

The module catalogue is the attached schema's modules (hvd's own and the IETF ones under
yang/ietf/), each served as YANG text by get-schema. The yang-library content-id is a digest
of the module texts, so it changes exactly when the served modules change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.errors import InvalidValue, MissingElement, OperationFailed
from hvd_netconf.namespaces import CAP_PREFIX, DATASTORES, MONITORING, YANG_LIBRARY, default_ns, qn
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.schema import load_schema
from hvd_netconf.schema.loader import SchemaLoadError, default_yang_dir
from hvd_netconf.schema.nodes import Module
from hvd_netconf.state import child, leaf

HVD_NCM = "urn:hvd:netconf-monitoring"
TRANSPORTS = {"netconf-ssh": ("ncm", "netconf-ssh"), "netconf-tls": ("ncm", "netconf-tls"),
              "hvd-unix": ("hvd-ncm", "unix-socket")}
DATASTORE_NAMES = ("running", "candidate", "startup")
MODULE_SET = "complete"
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', re.S)
_DEFINES = re.compile(r"^\s*(container|list|leaf|leaf-list|rpc|notification|identity|augment|"
                      r"anydata|anyxml|choice|deviation)\s", re.M)
_FEATURE = re.compile(r"^\s*feature\s+([\w.-]+)", re.M)
_GROUPING = re.compile(r"^\s*grouping\s+[\w.-]+\s*\{", re.M)


def content_id(texts: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for text in sorted(texts):
        digest.update(hashlib.sha256(text.encode()).digest())
    return digest.hexdigest()[:16]


def _files_content_id() -> str | None:
    """The content-id of the default YANG directory, for the hello (no compile needed)."""
    try:
        d = default_yang_dir()
    except SchemaLoadError:  # no models at all: nothing to announce (the daemon refuses later)
        return None
    files: list[Path] = sorted(d.glob("*.yang")) + sorted((d / "ietf").glob("*.yang"))
    return content_id(f.read_text(encoding="utf-8") for f in files)


def modules(server: ServerView) -> Sequence[Module]:
    """The served modules (schema.Module objects): the attached schema, else the default one."""
    schema = server.schema
    if schema is None:
        schema = load_schema()
    return schema.modules


def import_only(module: Module) -> bool:
    """A module that only lends typedefs and groupings (RFC 8525 import-only-module): the
    nodes inside a grouping are defined only where it is used."""
    return _DEFINES.search(_without_groupings(_STRINGS.sub('""', module.text))) is None


def _without_groupings(text: str) -> str:
    """The text with every grouping's block cut out (strings are already blanked)."""
    while (m := _GROUPING.search(text)) is not None:
        depth, end = 0, m.end() - 1
        for end in range(m.end() - 1, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                break
        text = text[:m.start()] + text[end + 1:]
    return text


def features(server: ServerView, module: Module) -> list[str]:
    """Features enabled: for ietf-netconf, those whose capability the server advertises."""
    declared = _FEATURE.findall(_STRINGS.sub('""', module.text))
    if module.name != "ietf-netconf":
        return declared
    caps = server.capabilities()
    return [f for f in declared if any(c.startswith(f"{CAP_PREFIX}{f}:") for c in caps)]


def find_schema(mods: Sequence[Module], identifier: str, version: str | None) -> Module:
    """The one module get-schema names; invalid-value if none, data-not-unique if several."""
    hits = [m for m in mods if m.name == identifier
            and (version is None or (m.revision or "") == version)]
    if not hits:
        what = identifier + (f"@{version}" if version else "")
        raise InvalidValue(f"no schema {what!r} on this server",
                           info=[("bad-element", "identifier")])
    if len(hits) > 1:
        raise OperationFailed(
            f"{len(hits)} revisions of {identifier!r} match; give a version",
            app_tag="data-not-unique", error_type="protocol")
    return hits[0]


def get_schema(ctx: OpContext, op: etree._Element) -> Reply:
    ident = op.findtext(qn(MONITORING, "identifier"))
    if ident is None or not ident.strip():
        raise MissingElement("get-schema needs an identifier",
                             info=[("bad-element", "identifier")])
    version = op.findtext(qn(MONITORING, "version"))
    fmt = (op.findtext(qn(MONITORING, "format")) or "yang").strip()
    if fmt.rpartition(":")[2] != "yang":
        raise InvalidValue(f"schema format {fmt!r} is not supported (yang)",
                           info=[("bad-element", "format")])
    module = find_schema(modules(ctx.server), ident.strip(),
                         version.strip() if version is not None else None)
    data = etree.Element(qn(MONITORING, "data"), nsmap=default_ns(MONITORING))
    data.text = module.text
    return data




def _identity_leaf(parent: etree._Element, name: str, prefix: str, value: str) -> None:
    """An identityref leaf; its prefix is declared on the top-level container."""
    leaf(parent, name, f"{prefix}:{value}")


def netconf_state(server: ServerView, data: etree._Element) -> None:
    top = child(data, MONITORING, "netconf-state", {"ncm": MONITORING, "hvd-ncm": HVD_NCM})
    caps = child(top, MONITORING, "capabilities")
    for uri in server.capabilities():
        leaf(caps, "capability", uri)
    stores = child(top, MONITORING, "datastores")
    for name in DATASTORE_NAMES:
        ds = etree.SubElement(stores, qn(MONITORING, "datastore"))
        leaf(ds, "name", name)
        holder = server.locks.holder(name)
        if holder is not None:
            lock = child(child(ds, MONITORING, "locks"), MONITORING, "global-lock")
            leaf(lock, "locked-by-session", holder)
            leaf(lock, "locked-time", server.locks.locked_time(name))
    schemas = child(top, MONITORING, "schemas")
    for m in modules(server):
        sc = etree.SubElement(schemas, qn(MONITORING, "schema"))
        leaf(sc, "identifier", m.name)
        leaf(sc, "version", m.revision or "")
        _identity_leaf(sc, "format", "ncm", "yang")
        leaf(sc, "namespace", m.namespace)
        leaf(sc, "location", "NETCONF")
    sessions = child(top, MONITORING, "sessions")
    for live in sorted(server.sessions.all(), key=lambda s: s.info.id):
        info = live.info
        se = etree.SubElement(sessions, qn(MONITORING, "session"))
        leaf(se, "session-id", info.id)
        _identity_leaf(se, "transport", *TRANSPORTS.get(info.transport,
                                                          ("hvd-ncm", "unix-socket")))
        leaf(se, "username", info.username)
        if info.source_host:
            leaf(se, "source-host", info.source_host)
        leaf(se, "login-time", info.login_time)
        for name in ("in-rpcs", "in-bad-rpcs", "out-rpc-errors", "out-notifications"):
            leaf(se, name, getattr(info, name.replace("-", "_")))
    stats = child(top, MONITORING, "statistics")
    st = server.stats
    for name in ("netconf-start-time", "in-bad-hellos", "in-sessions", "dropped-sessions",
                 "in-rpcs", "in-bad-rpcs", "out-rpc-errors", "out-notifications"):
        leaf(stats, name, getattr(st, name.replace("-", "_")))


def yang_library(server: ServerView, data: etree._Element) -> None:
    mods = modules(server)
    top = child(data, YANG_LIBRARY, "yang-library", {"ds": DATASTORES})
    mset = etree.SubElement(top, qn(YANG_LIBRARY, "module-set"))
    leaf(mset, "name", MODULE_SET)
    for m in mods:
        if import_only(m):
            continue
        me = etree.SubElement(mset, qn(YANG_LIBRARY, "module"))
        leaf(me, "name", m.name)
        if m.revision:
            leaf(me, "revision", m.revision)
        leaf(me, "namespace", m.namespace)
        for feature in features(server, m):
            leaf(me, "feature", feature)
    for m in mods:
        if import_only(m):
            me = etree.SubElement(mset, qn(YANG_LIBRARY, "import-only-module"))
            leaf(me, "name", m.name)
            leaf(me, "revision", m.revision or "")
            leaf(me, "namespace", m.namespace)
    sch = etree.SubElement(top, qn(YANG_LIBRARY, "schema"))
    leaf(sch, "name", MODULE_SET)
    leaf(sch, "module-set", MODULE_SET)
    for name in (*DATASTORE_NAMES, "operational"):
        ds = etree.SubElement(top, qn(YANG_LIBRARY, "datastore"))
        _identity_leaf(ds, "name", "ds", name)
        leaf(ds, "schema", MODULE_SET)
    leaf(top, "content-id", content_id(m.text for m in mods))


def yang_library_capability() -> str | None:
    """RFC 8526's :yang-library:1.1 with the content-id of the shipped modules, if known."""
    cid = _files_content_id()
    if cid is None:
        return None
    return f"{CAP_PREFIX}yang-library:1.1?revision=2019-01-04&content-id={cid}"
