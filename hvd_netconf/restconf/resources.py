"""The RESTCONF resources (RFC 8040 §3): each request becomes the <rpc> a NETCONF client would
send (get, get-config, edit-config on running, an hvd RPC), dispatched by the server exactly
as a session's rpc is, after a pass through the same hardened parser and envelope check. So
locks, NACM, validation, the commit history and the host apply are the NETCONF ones; nothing
here reads or writes a datastore itself.

Everything here blocks (the server lock, the host apply): the HTTP layer runs it in a worker
thread. The entity-tag of the datastore is the id of running's latest commit and its
Last-Modified that commit's time (§3.4.1.2-3); a write checks its preconditions and commits
while holding the server lock, so two clients cannot both pass the same If-Match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from lxml import etree

from hvd_netconf import xmlparse
from hvd_netconf.calls import SessionInfo
from hvd_netconf.errors import InvalidValue, MalformedMessage, RpcError, RpcErrors
from hvd_netconf.namespaces import BASE, NOTIF, WITH_DEFAULTS, default_ns
from hvd_netconf.restconf import errors, fields, openapi, paths, yangpatch
from hvd_netconf.restconf.errors import RESTCONF_NS, RestError, RestErrors
from hvd_netconf.restconf.jsonenc import JsonCodec
from hvd_netconf.schema.nodes import SchemaNode
from hvd_netconf.wire import messages

ROOT = "/restconf"  # {+restconf} (RFC 8040 §3.1), as /.well-known/host-meta names it
JSON_TYPE = "application/yang-data+json"
XML_TYPE = "application/yang-data+xml"
YANG_LIBRARY_VERSION = "2019-01-04"  # ietf-yang-library revision (RFC 8525) hvd implements
HIDDEN_RPC_NAMESPACES = frozenset({BASE, NOTIF})  # NETCONF's own operations: not resources
# ...except what staging in candidate over /ds/ needs (RFC 8527 §3.2 leaves it to the rpcs).
CANDIDATE_RPCS = frozenset({f"{{{BASE}}}commit", f"{{{BASE}}}discard-changes",
                            f"{{{BASE}}}cancel-commit", f"{{{BASE}}}validate"})
WITH_DEFAULTS_MODES = ("report-all", "trim", "explicit", "report-all-tagged")
CONTENT_VALUES = ("all", "config", "nonconfig")
INSERT_VALUES = ("first", "last", "before", "after")
_OP = f"{{{BASE}}}operation"
DATA_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
DATASTORE_METHODS = "GET, HEAD, OPTIONS, PATCH, POST, PUT"


@dataclass
class Request:
    """What the resources need of one HTTP request (the HTTP layer fills it)."""

    method: str
    path: str  # after `{+restconf}`, still percent-encoded, without the query
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    body_json: bool | None  # the body's encoding; None: no body
    as_json: bool  # the reply's encoding
    info: SessionInfo


@dataclass
class Response:
    status: int
    body: bytes = b""
    as_json: bool = True
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Store:
    """The datastore a data request addresses: `{+restconf}/data` (RFC 8040: reads see
    everything, edits go to running) or an NMDA datastore under `/ds/` (RFC 8527)."""

    prefix: str  # the path from {+restconf} to the datastore resource
    source: str | None  # what get-config reads; None: <get> (configuration and state)
    target: str | None  # what edit-config writes; None: read-only


UNIFIED = Store("data", None, "running")
NMDA_STORES = {
    "ietf-datastores:running": Store("ds/ietf-datastores:running", "running", "running"),
    "ietf-datastores:candidate": Store("ds/ietf-datastores:candidate", "candidate",
                                       "candidate"),
    "ietf-datastores:operational": Store("ds/ietf-datastores:operational", None, None),
}


def _el(ns: str, name: str, parent: etree._Element | None = None,
        text: str | None = None) -> etree._Element:
    el = etree.Element(f"{{{ns}}}{name}") if parent is None else \
        etree.SubElement(parent, f"{{{ns}}}{name}")
    el.text = text
    return el


def _http_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        raise RestError("invalid-value", f"{text!r} is not an HTTP date") from None


def _etags(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidValue(f"member {key!r} appears twice in one JSON object")
        out[key] = value
    return out


class Resources:
    def __init__(self, server: Any, max_depth: int = 64) -> None:
        self.server = server
        self.codec = JsonCodec(server.schema, max_depth)
        self.modules = {m.namespace: m.name for m in server.schema.modules}  # for error-path
        self.limits = server.settings.wire_limits.xml
        self.started = datetime.now(UTC).replace(microsecond=0)
        self._openapi_doc: bytes | None = None

    # -- one request -----------------------------------------------------------------------

    def handle(self, req: Request) -> Response:
        try:
            return self._route(req)
        except (RestError, RestErrors, RpcError, RpcErrors) as exc:
            errs = errors.from_exception(exc)
            return Response(errs.status, errors.render(errs, req.as_json, self.modules),
                            req.as_json)

    def _route(self, req: Request) -> Response:
        path = req.path
        if path in ("", "/"):
            self._method(req, "GET, HEAD, OPTIONS")
            return self._root(req)
        head, _, rest = path.lstrip("/").partition("/")
        if head == "data":
            return self._data(req, rest, UNIFIED)
        if head == "ds":
            ident, _, rest = rest.partition("/")
            store = NMDA_STORES.get(paths.decode(ident))
            if store is None:
                raise RestError("invalid-value", f"no datastore {ident!r} (hvd has "
                                f"{', '.join(NMDA_STORES)})", status=404)
            return self._data(req, rest, store)
        if head == "operations":
            return self._operations(req, rest)
        if head == "openapi.json" and not rest:
            self._method(req, "GET, HEAD, OPTIONS")
            if req.method == "OPTIONS":
                return self._options("GET, HEAD, OPTIONS", False)
            return Response(200, self._openapi(), True, {"Content-Type": "application/json"})
        if head == "yang-library-version" and not rest:
            self._method(req, "GET, HEAD, OPTIONS")
            return self._yang_library_version(req)
        raise RestError("invalid-value", f"no resource {path!r} under /restconf", status=404)

    def _openapi(self) -> bytes:
        """The OpenAPI description, made once: the schema does not change while running."""
        if self._openapi_doc is None:
            schema = self.server.schema
            modules = ",".join(sorted(f"{m.name}@{m.revision}" for m in schema.modules))
            version = hashlib.sha256(modules.encode()).hexdigest()[:12]
            self._openapi_doc = json.dumps(openapi.describe(schema, version)).encode()
        return self._openapi_doc

    def _method(self, req: Request, allowed: str) -> None:
        if req.method not in allowed.split(", "):
            raise RestError("operation-not-supported",
                            f"{req.method} is not allowed here (allowed: {allowed})",
                            status=405)

    def _options(self, allowed: str, patch: bool) -> Response:
        headers = {"Allow": allowed}
        if patch:
            headers["Accept-Patch"] = (f"{JSON_TYPE}, {XML_TYPE}, {yangpatch.PATCH_JSON}, "
                                       f"{yangpatch.PATCH_XML}")
        return Response(200, headers=headers)

    def _reply(self, req: Request, obj: Any, xml: etree._Element | None,
               headers: dict[str, str] | None = None) -> Response:
        if req.as_json:
            body = json.dumps(obj, indent=2).encode()
        else:
            assert xml is not None
            body = etree.tostring(xml, xml_declaration=True, encoding="UTF-8")
        return Response(200, body, req.as_json, headers or {})

    # -- dispatch: the one way into the operations --------------------------------------------

    def call(self, info: SessionInfo, op: etree._Element) -> etree._Element:
        """Send op as a NETCONF session would and return the <rpc-reply>, or raise its errors."""
        rpc = etree.Element(f"{{{BASE}}}rpc", nsmap=default_ns(BASE))
        rpc.set("message-id", "1")
        rpc.append(op)
        parsed = messages.parse_rpc(xmlparse.parse(etree.tostring(rpc), self.limits))
        reply = etree.fromstring(self.server.dispatch(info, parsed),
                                 etree.XMLParser(huge_tree=True, resolve_entities=False))
        failures = reply.findall(f"{{{BASE}}}rpc-error")
        if any(f.findtext(f"{{{BASE}}}error-severity") != "warning" for f in failures):
            raise errors.from_rpc_errors(failures)
        return reply

    # -- {+restconf} and yang-library-version ---------------------------------------------------

    def _root(self, req: Request) -> Response:
        if req.method == "OPTIONS":
            return self._options("GET, HEAD, OPTIONS", False)
        xml = _el(RESTCONF_NS, "restconf")
        etree.cleanup_namespaces(xml, top_nsmap=default_ns(RESTCONF_NS))
        _el(RESTCONF_NS, "data", xml)
        _el(RESTCONF_NS, "operations", xml)
        _el(RESTCONF_NS, "yang-library-version", xml, YANG_LIBRARY_VERSION)
        obj = {"ietf-restconf:restconf": {"data": {}, "operations": {},
                                          "yang-library-version": YANG_LIBRARY_VERSION}}
        return self._reply(req, obj, xml)

    def _yang_library_version(self, req: Request) -> Response:
        if req.method == "OPTIONS":
            return self._options("GET, HEAD, OPTIONS", False)
        xml = etree.Element(f"{{{RESTCONF_NS}}}yang-library-version", nsmap=default_ns(RESTCONF_NS))
        xml.text = YANG_LIBRARY_VERSION
        return self._reply(req, {"ietf-restconf:yang-library-version": YANG_LIBRARY_VERSION},
                           xml)

    # -- the datastore's entity-tag and time -----------------------------------------------------

    def version(self, store: Store = UNIFIED) -> tuple[str, datetime | None]:
        """(ETag, Last-Modified) of running: its latest commit's id and time; of candidate:
        a digest of its content (it has no commits of its own) and no time."""
        if store.target == "candidate":
            digest = hashlib.sha256(etree.tostring(self.server.datastores.candidate.root))
            return f'"c{digest.hexdigest()[:24]}"', None
        history = self.server.datastores.history
        latest = history.list(0, 1)
        if not latest:
            return '"0"', self.started
        rec = latest[0]
        when = datetime.fromisoformat(rec.time).astimezone(UTC).replace(microsecond=0)
        return f'"{rec.id}"', when

    def _version_headers(self, store: Store) -> dict[str, str]:
        tag, when = self.version(store)
        headers = {"ETag": tag}
        if when is not None:
            headers["Last-Modified"] = format_datetime(when, usegmt=True)
        return headers

    def _preconditions(self, req: Request, store: Store, exists: bool,
                       revalidates: bool = True) -> Response | None:
        """RFC 9110 §13 for the datastore's ETag and time: a 304 for a read, else raise 412.
        A read that holds state data (revalidates False) never answers 304: the tag and time
        are the configuration's, and state changes without them."""
        tag, when = self.version(store)
        h = req.headers
        read = req.method in ("GET", "HEAD")
        failed: str | None = None
        if "If-Match" in h:
            wanted = _etags(h["If-Match"])
            if not exists or ("*" not in wanted and tag not in wanted):
                failed = f"If-Match {h['If-Match']} does not match the datastore's {tag}"
        elif "If-Unmodified-Since" in h:
            since = _http_date(h["If-Unmodified-Since"])
            if since is not None and (when is None or when > since):
                failed = "the datastore was modified after If-Unmodified-Since"
        if read and not revalidates:
            pass
        elif failed is None and "If-None-Match" in h:
            wanted = _etags(h["If-None-Match"])
            if ("*" in wanted and exists) or tag in wanted:
                if read:
                    return Response(304, headers=self._version_headers(store))
                failed = f"If-None-Match {h['If-None-Match']} matches the datastore ({tag})"
        elif failed is None and read and "If-Modified-Since" in h:
            since = _http_date(h["If-Modified-Since"])
            if since is not None and when is not None and when <= since:
                return Response(304, headers=self._version_headers(store))
        if failed:
            raise RestError("operation-failed", failed, status=412)
        return None

    # -- {+restconf}/data ------------------------------------------------------------------------

    def _data(self, req: Request, rest: str, store: Store) -> Response:
        steps = paths.parse(self.server.schema, rest)
        allowed = DATA_METHODS if steps else DATASTORE_METHODS
        if store.target is None:
            allowed = "GET, HEAD, OPTIONS"
        self._method(req, allowed)
        if req.method == "OPTIONS":
            return self._options(allowed, store.target is not None)
        self._check_query(req, store)
        if req.method in ("GET", "HEAD"):
            return self._read(req, steps, store)
        with self.server.lock:  # preconditions, existence and the edit as one step
            return self._write(req, steps, rest, store)

    def _check_query(self, req: Request, store: Store) -> None:
        allowed = {"content", "depth", "fields", "with-defaults"} \
            if req.method in ("GET", "HEAD") \
            else {"insert", "point"} if req.method in ("POST", "PUT") else set()
        if store.source is not None:
            allowed.discard("content")  # a configuration datastore holds no state
        for name in req.query:
            if name not in allowed:
                raise RestError("invalid-value",
                                f"query parameter {name!r} is not supported with "
                                f"{req.method} here", error_type="protocol")
        if req.query.get("content", "all") not in CONTENT_VALUES:
            raise RestError("invalid-value", f"content must be one of {', '.join(CONTENT_VALUES)}")
        if req.query.get("with-defaults", "report-all") not in WITH_DEFAULTS_MODES:
            raise RestError("invalid-value",
                            f"with-defaults must be one of {', '.join(WITH_DEFAULTS_MODES)}")
        if req.query.get("insert", "first") not in INSERT_VALUES:
            raise RestError("invalid-value", f"insert must be one of {', '.join(INSERT_VALUES)}")
        if ("point" in req.query) != (req.query.get("insert") in ("before", "after")):
            raise RestError("invalid-value", "point goes with insert=before or insert=after, "
                            "and only with them")
        depth = req.query.get("depth", "unbounded")
        if depth != "unbounded" and not (depth.isdigit() and 1 <= int(depth) <= 65535):
            raise RestError("invalid-value", "depth must be 'unbounded' or 1..65535")

    def _fetch(self, info: SessionInfo, steps: list[paths.Step], source: str | None,
               with_defaults: str | None = None) -> etree._Element:
        """The <data> of a get-config of source (None: a get), filtered to the steps'
        subtree."""
        if source is not None:
            op = _el(BASE, "get-config")
            _el(BASE, source, _el(BASE, "source", op))
        else:
            op = _el(BASE, "get")
        if steps:
            flt = _el(BASE, "filter", op)
            flt.set("type", "subtree")
            flt.append(paths.skeleton(steps)[0])
        if with_defaults:
            _el(WITH_DEFAULTS, "with-defaults", op, with_defaults)
        data = self.call(info, op).find(f"{{{BASE}}}data")
        return data if data is not None else _el(BASE, "data")

    def _read(self, req: Request, steps: list[paths.Step], store: Store) -> Response:
        content = req.query.get("content", "all")
        source = store.source or ("running" if content == "config" else None)
        data = self._fetch(req.info, steps, source, req.query.get("with-defaults"))
        if content == "nonconfig":
            _prune_config(data, None, self.server.schema)
        depth = req.query.get("depth", "unbounded")
        found = paths.find(data, steps) if steps else [data]
        if not found and self._np_container_of(data, steps):
            found = [paths.element_of(steps[-1], None)]
        if not found:
            raise RestError("invalid-value", "no such data resource", status=404)
        if "fields" in req.query:
            selection = fields.parse(req.query["fields"])
            for el in found:
                fields.apply(el, selection, steps[-1].node.by_tag if steps
                             else self.server.schema.by_tag)
        if depth != "unbounded":
            for el in found:
                _prune_depth(el, int(depth))
        not_modified = self._preconditions(req, store, True, revalidates=source is not None)
        if not_modified is not None:
            return not_modified
        # a cache (a browser's) must ask again each time: the answer changes with each commit,
        # and state data with every VM that starts or stops
        headers = {**self._version_headers(store), "Cache-Control": "no-cache"}
        if not steps:
            obj = {"ietf-restconf:data": self.codec.to_json(data, None)}
            xml = etree.Element(f"{{{RESTCONF_NS}}}data", nsmap=default_ns(RESTCONF_NS))
            xml.extend(list(data))
            return self._reply(req, obj, xml, headers)
        node = steps[-1].node
        if req.as_json:
            return self._reply(req, self.codec.to_json(found, node.parent), None, headers)
        if len(found) > 1:
            raise RestError("invalid-value", f"{node.name} names {len(found)} values: XML "
                            "needs one resource (add =value, or ask for JSON)")
        return self._reply(req, None, found[0], headers)

    # -- edits -------------------------------------------------------------------------------------

    def _body(self, req: Request, parent: SchemaNode | None) -> list[etree._Element]:
        """The body's data nodes as XML children of `parent` (None: top level)."""
        if req.body_json is None or not req.body.strip():
            raise RestError("malformed-message", f"{req.method} needs a body")
        holder = _el(BASE, "config")
        if req.body_json:
            try:
                members = json.loads(req.body.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except UnicodeDecodeError:
                raise MalformedMessage("the body is not UTF-8") from None
            except RecursionError:
                raise MalformedMessage("the JSON nests too deeply") from None
            except ValueError as exc:
                raise MalformedMessage(f"the body is not JSON: {exc}") from None
            if not isinstance(members, dict) or any(":" not in k for k in members):
                raise InvalidValue("the body's top-level members must be named module:name")
            self.codec.from_json(members, parent, holder)
        else:
            root = xmlparse.parse(req.body, self.limits)
            known = parent.by_tag if parent is not None else self.server.schema.by_tag
            if root.tag not in known:
                raise RestError("unknown-element", f"{etree.QName(root).localname} "
                                "is not a data node here")
            holder.append(root)
        return list(holder)

    def _datastore_body(self, req: Request) -> list[etree._Element]:
        """The children of the `ietf-restconf:data` body of a PUT or PATCH on the datastore."""
        if req.body_json:
            try:
                doc = json.loads(req.body.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except (UnicodeDecodeError, RecursionError, ValueError) as exc:
                raise MalformedMessage(f"the body is not JSON: {exc}") from None
            if not isinstance(doc, dict) or list(doc) != ["ietf-restconf:data"]:
                raise InvalidValue("the body must be one member, ietf-restconf:data")
            holder = _el(BASE, "config")
            self.codec.from_json(doc["ietf-restconf:data"], None, holder)
            return list(holder)
        root = xmlparse.parse(req.body, self.limits)
        if root.tag != f"{{{RESTCONF_NS}}}data":
            raise InvalidValue("the body must be <data xmlns=\"" + RESTCONF_NS + "\">")
        return [c for c in root if isinstance(c.tag, str)]

    def _edit(self, info: SessionInfo, target: str, config: list[etree._Element],
              default_operation: str = "merge") -> None:
        op = _el(BASE, "edit-config")
        _el(BASE, target, _el(BASE, "target", op))
        _el(BASE, "default-operation", op, default_operation)
        holder = _el(BASE, "config", op)
        holder.extend(config)
        self.call(info, op)

    def _exists(self, info: SessionInfo, steps: list[paths.Step], source: str) -> bool:
        return self._np_container_of(None, steps) or bool(
            paths.find(self._fetch(info, steps, source), steps))

    def _np_container_of(self, data: etree._Element | None, steps: list[paths.Step]) -> bool:
        """Whether steps name non-presence containers whose parent exists (in `data`, or
        else trivially at the top): such a container exists even with nothing in it."""
        trimmed = list(steps)
        while trimmed and trimmed[-1].node.kind == "container" and \
                not trimmed[-1].node.presence:
            trimmed.pop()
        if len(trimmed) == len(steps) and steps:
            return False
        return not trimmed or (data is not None and bool(paths.find(data, trimmed)))

    def _write(self, req: Request, steps: list[paths.Step], rest: str,
               store: Store) -> Response:
        target = store.target
        assert target is not None  # read-only stores allow no write method
        exists = self._exists(req.info, steps, target)
        pre = self._preconditions(req, store, exists)
        assert pre is None  # only a read answers 304
        method = req.method
        kind = req.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if method == "PATCH" and kind in (yangpatch.PATCH_JSON, yangpatch.PATCH_XML):
            if steps and not exists:
                raise RestError("invalid-value", "no such data resource", status=404)
            return self._yang_patch(req, steps, store, target)
        status, headers = 204, {}
        if not steps:
            if method == "POST":
                body = self._body(req, None)
                if len(body) != 1:
                    raise InvalidValue("POST creates one resource: give one member")
                body[0].set(_OP, "create")
                self._edit(req.info, target, body)
                status = 201
                headers["Location"] = f"{ROOT}/{store.prefix}/" + paths.segment(
                    paths.step_of(body[0], self.server.schema.by_tag[body[0].tag]), None)
            else:  # PUT replaces the datastore, PATCH merges into it
                self._edit(req.info, target, self._datastore_body(req),
                           "replace" if method == "PUT" else "merge")
        else:
            if method in ("PATCH", "DELETE", "POST") and not exists:
                raise RestError("invalid-value", "no such data resource", status=404)
            top, inner = paths.skeleton(steps)
            last = steps[-1]
            if method == "DELETE":
                inner.set(_OP, "delete")
                self._edit(req.info, target, [top])
            elif method == "POST":
                if last.node.kind not in ("container", "list"):
                    raise RestError("invalid-value", f"{last.node.name} holds no children")
                body = self._body(req, last.node)
                if len(body) != 1:
                    raise InvalidValue("POST creates one resource: give one member")
                child = body[0]
                inner.append(child)  # then the attributes: lxml may re-prefix a moved node
                child.set(_OP, "create")
                self._insert(req, child, last.node.by_tag[child.tag])
                self._edit(req.info, target, [top])
                status = 201
                node = last.node.by_tag[child.tag]
                where = f"{ROOT}/{store.prefix}/{rest.strip('/')}/"
                headers["Location"] = where + paths.segment(paths.step_of(child, node),
                                                            last.node)
            else:
                body = self._body(req, last.node.parent)
                if len(body) != 1 or not paths.matches(body[0], last):
                    raise InvalidValue(f"the body must be the one resource the URI names "
                                       f"({last.node.name}, with the same keys)")
                new = body[0]
                parent = inner.getparent()
                if parent is None:
                    top = new
                else:
                    parent.replace(inner, new)
                new.set(_OP, "replace" if method == "PUT" else "merge")
                self._insert(req, new, last.node)
                self._edit(req.info, target, [top])
                if method == "PUT" and not exists:
                    status = 201
        headers.update(self._version_headers(store))
        return Response(status, b"", req.as_json, headers)

    def _yang_patch(self, req: Request, steps: list[paths.Step], store: Store,
                    target: str) -> Response:
        """RFC 8072: every edit checked, then all of them applied in order and committed as
        one transaction, or none."""
        patch = yangpatch.parse_json(req.body) if req.body_json else \
            yangpatch.parse_xml(req.body, self.limits)
        op, failed = yangpatch.Builder(self.codec, self.limits, steps).build(patch, target)
        problem: RestErrors | None = None
        if not failed:
            try:
                self.call(req.info, op)
            except (RestError, RestErrors, RpcError, RpcErrors) as exc:
                problem = errors.from_exception(exc)
                failed = yangpatch.edit_errors(problem)
                if failed:
                    problem = None
        status = next(iter(failed.values())).status if failed else \
            problem.status if problem else 200
        body = yangpatch.status(patch, failed, problem, req.as_json, self.modules)
        return Response(status, body, req.as_json, self._version_headers(store))

    def _insert(self, req: Request, el: etree._Element, node: SchemaNode) -> None:
        """insert/point (RFC 8040 §4.8.5-6) on the new element."""
        where = req.query.get("insert")
        if where is not None:
            point = req.query.get("point")
            paths.set_insert(el, node, where, paths.parse(self.server.schema, point)
                             if point is not None else None)

    # -- {+restconf}/operations --------------------------------------------------------------------

    def _rpc_node(self, rest: str) -> SchemaNode:
        module, sep, name = paths.decode(rest.strip("/")).partition(":")
        ns = next((m.namespace for m in self.server.schema.modules if m.name == module), None)
        node: SchemaNode | None = self.server.schema.rpcs.get(f"{{{ns}}}{name}") if sep else None
        if node is None or "/" in name or (node.ns in HIDDEN_RPC_NAMESPACES and
                                           node.tag not in CANDIDATE_RPCS):
            raise RestError("invalid-value", f"no operation {rest!r}", status=404)
        return node

    def _operations(self, req: Request, rest: str) -> Response:
        if not rest.strip("/"):
            self._method(req, "GET, HEAD, OPTIONS")
            if req.method == "OPTIONS":
                return self._options("GET, HEAD, OPTIONS", False)
            listed = sorted((n.module, n.name, n.ns) for n in self.server.schema.rpcs.values()
                            if n.ns not in HIDDEN_RPC_NAMESPACES or n.tag in CANDIDATE_RPCS)
            xml = etree.Element(f"{{{RESTCONF_NS}}}operations", nsmap=default_ns(RESTCONF_NS))
            for _module, name, ns in listed:
                _el(ns, name, xml)
            obj = {"ietf-restconf:operations": {f"{m}:{n}": [None] for m, n, _ in listed}}
            return self._reply(req, obj, xml)
        node = self._rpc_node(rest)
        self._method(req, "OPTIONS, POST")
        if req.method == "OPTIONS":
            return self._options("OPTIONS, POST", False)
        if req.query:
            raise RestError("invalid-value", "an operation takes no query parameters")
        op = _el(node.ns, node.name)
        if req.body_json is not None and req.body.strip():
            self._rpc_input(req, node, op)
        reply = self.call(req.info, op)
        out = [c for c in reply if isinstance(c.tag, str) and c.tag != f"{{{BASE}}}ok"]
        if not out:
            return Response(204, as_json=req.as_json)
        out_node = self.server.schema.outputs.get(node.tag)
        obj = {f"{node.module}:output": self.codec.to_json(out, out_node, node.ns)}
        xml = _el(node.ns, "output")
        xml.extend(out)
        return self._reply(req, obj, xml)

    def _rpc_input(self, req: Request, node: SchemaNode, op: etree._Element) -> None:
        name = f"{node.module}:input"
        if req.body_json:
            try:
                doc = json.loads(req.body.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except (UnicodeDecodeError, RecursionError, ValueError) as exc:
                raise MalformedMessage(f"the body is not JSON: {exc}") from None
            if not isinstance(doc, dict) or list(doc) != [name]:
                raise InvalidValue(f"the body must be one member, {name}")
            self.codec.from_json(doc[name], node, op)
            return
        root = xmlparse.parse(req.body, self.limits)
        if root.tag != f"{{{node.ns}}}input":
            raise InvalidValue(f"the body must be <input xmlns=\"{node.ns}\">")
        for child in root:
            if isinstance(child.tag, str) and child.tag not in node.by_tag:
                raise RestError("unknown-element", f"{etree.QName(child).localname} is not "
                                f"an input of {node.name}")
            op.append(child)


def _prune_config(el: etree._Element, node: SchemaNode | None, schema: Any) -> bool:
    """Drop configuration-only nodes (content=nonconfig); True when el keeps state data.
    List keys stay with an entry that keeps anything, so the entry is still named."""
    keep = False
    for child in list(el):
        if not isinstance(child.tag, str):
            continue
        cn = node.by_tag.get(child.tag) if node is not None else schema.by_tag.get(child.tag)
        if cn is None or cn.is_key:
            continue
        if not cn.config or (cn.kind in ("container", "list") and
                             _prune_config(child, cn, schema)):
            keep = True
        else:
            el.remove(child)
    if not keep and node is not None:
        for child in list(el):
            el.remove(child)
    return keep


def _prune_depth(el: etree._Element, depth: int) -> None:
    """Keep `depth` levels, the target being level 1 (RFC 8040 §4.8.2)."""
    for child in list(el):
        if depth <= 1:
            el.remove(child)
        else:
            _prune_depth(child, depth - 1)
