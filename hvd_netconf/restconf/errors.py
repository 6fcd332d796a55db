"""RESTCONF errors: the error-tag decides the HTTP status (RFC 8040 §7), rendered once.

An error comes either from the operations (the <rpc-error>s of a dispatched reply) or from
the RESTCONF layer itself (a bad URI, a failed precondition) as an RpcError; both become
RestError values and leave as one `ietf-restconf:errors` body, in XML or JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from hvd_netconf.errors import RpcError, RpcErrors
from hvd_netconf.namespaces import BASE, default_ns, nsmap

RESTCONF_NS = "urn:ietf:params:xml:ns:yang:ietf-restconf"

# RFC 8040 §7, one status per error-tag (where the RFC offers two, the first unless a
# caller passes the other, e.g. 404 for an invalid-value naming a missing resource).
STATUS_OF_TAG: dict[str, int] = {
    "in-use": 409,
    "invalid-value": 400,
    "too-big": 413,
    "missing-attribute": 400,
    "bad-attribute": 400,
    "unknown-attribute": 400,
    "missing-element": 400,
    "bad-element": 400,
    "unknown-element": 400,
    "unknown-namespace": 400,
    "access-denied": 403,
    "lock-denied": 409,
    "resource-denied": 409,
    "rollback-failed": 500,
    "data-exists": 409,
    "data-missing": 409,
    "operation-not-supported": 501,
    "operation-failed": 500,
    "partial-operation": 500,
    "malformed-message": 400,
}


@dataclass
class RestError(Exception):
    """One error of a RESTCONF reply; `status` overrides the tag's status where the RFC
    allows another (404, 405, 406, 412, 415)."""

    tag: str
    message: str
    error_type: str = "protocol"
    app_tag: str | None = None
    path: str | None = None
    info: list[tuple[str, str]] = field(default_factory=list)
    status: int | None = None
    path_ns: dict[str, str] = field(default_factory=dict)  # the error-path's prefixes

    @property
    def http_status(self) -> int:
        return self.status or STATUS_OF_TAG.get(self.tag, 500)


class RestErrors(Exception):
    """Errors answered together; the first one's status is the reply's."""

    def __init__(self, errors: list[RestError]) -> None:
        super().__init__(errors[0].message if errors else "error")
        self.errors = errors

    @property
    def status(self) -> int:
        return self.errors[0].http_status


def from_rpc_error(err: RpcError, status: int | None = None) -> RestError:
    info = [item for item in err.info if isinstance(item, tuple)]
    return RestError(err.tag, err.message, err.error_type, err.app_tag, err.path, info, status,
                     err.path_namespaces())


def from_exception(exc: RpcError | RpcErrors | RestError | RestErrors) -> RestErrors:
    if isinstance(exc, RestErrors):
        return exc
    if isinstance(exc, RestError):
        return RestErrors([exc])
    if isinstance(exc, RpcErrors):
        return RestErrors([from_rpc_error(e) for e in exc.errors])
    return RestErrors([from_rpc_error(exc)])


def _child_text(el: etree._Element, name: str) -> str | None:
    found = el.find(f"{{{BASE}}}{name}")
    return found.text if found is not None else None


def from_rpc_errors(elements: list[etree._Element]) -> RestErrors:
    """The <rpc-error>s of a reply as RestErrors (warnings are not errors and are dropped)."""
    errors = []
    for el in elements:
        if _child_text(el, "error-severity") == "warning":
            continue
        info_el = el.find(f"{{{BASE}}}error-info")
        info = [(etree.QName(i).localname, i.text or "") for i in info_el
                if isinstance(i.tag, str)] if info_el is not None else []
        path_el = el.find(f"{{{BASE}}}error-path")
        errors.append(RestError(
            tag=_child_text(el, "error-tag") or "operation-failed",
            message=_child_text(el, "error-message") or "",
            error_type=_child_text(el, "error-type") or "application",
            app_tag=_child_text(el, "error-app-tag"),
            path=path_el.text if path_el is not None else None,
            info=info,
            path_ns={p: ns for p, ns in path_el.nsmap.items() if p} if path_el is not None
            else {},
        ))
    return RestErrors(errors or [RestError("operation-failed", "the operation failed")])


_NAME = r"[A-Za-z_][\w.-]*"
_PATH_TOKEN = re.compile(rf"""'[^']*'|"[^"]*"|({_NAME}):({_NAME})|(\[)|(\])""")


def json_path(path: str, prefixes: Mapping[str, str], modules: Mapping[str, str]) -> str:
    """An XPath error-path in the JSON instance-identifier form (RFC 7951 §6.11): each
    `prefix:` becomes its module's name, kept on the first step and where the module changes
    from the parent's, dropped elsewhere (keys in predicates are the list's own nodes).
    `prefixes` maps prefix to namespace, `modules` namespace to module name; a prefix neither
    knows stays as it is."""
    parent: str | None = None  # module of the step before this one
    step: str | None = None  # module of the step whose predicates are being read
    depth = 0

    def rewrite(m: re.Match[str]) -> str:
        nonlocal parent, step, depth
        if m.group(3):
            depth += 1
        elif m.group(4):
            depth -= 1
        elif m.group(1):
            module = modules.get(prefixes.get(m.group(1), ""))
            if module is None:
                return m.group(0)
            outer = step if depth else parent
            if not depth:
                parent = step = module
            return m.group(2) if module == outer else f"{module}:{m.group(2)}"
        return m.group(0)

    return _PATH_TOKEN.sub(rewrite, path)


def error_items(errors: RestErrors, modules: Mapping[str, str]) -> list[dict[str, object]]:
    """The `error` list entries in JSON (the `errors` grouping of ietf-restconf), error-path
    as a JSON instance-identifier (`modules`: namespace to module name)."""
    items = []
    for e in errors.errors:
        item: dict[str, object] = {"error-type": e.error_type, "error-tag": e.tag}
        if e.app_tag:
            item["error-app-tag"] = e.app_tag
        if e.path:
            item["error-path"] = json_path(e.path, e.path_ns, modules)
        if e.message:
            item["error-message"] = e.message
        if e.info:
            item["error-info"] = dict(e.info)
        items.append(item)
    return items


def error_elements(errors: RestErrors, ns: str) -> etree._Element:
    """The `errors` grouping in XML, in namespace ns (ietf-restconf's, or a module's that
    uses the grouping, such as ietf-yang-patch); error-path keeps its XPath, with the
    prefixes it uses declared on it (an instance-identifier, RFC 7950 §9.13.2)."""
    root = etree.Element(f"{{{ns}}}errors", nsmap=default_ns(ns))
    for e in errors.errors:
        el = etree.SubElement(root, f"{{{ns}}}error")
        path_ns: dict[str | None, str] = {p: u for p, u in e.path_ns.items()}
        for name, text in (("error-type", e.error_type), ("error-tag", e.tag),
                           ("error-app-tag", e.app_tag), ("error-path", e.path),
                           ("error-message", e.message)):
            if text:
                declare = nsmap(path_ns) if name == "error-path" else None
                etree.SubElement(el, f"{{{ns}}}{name}", nsmap=declare).text = text
        if e.info:
            info = etree.SubElement(el, f"{{{ns}}}error-info")
            for name, text in e.info:
                etree.SubElement(info, f"{{{ns}}}{name}").text = text
    return root


def render(errors: RestErrors, as_json: bool, modules: Mapping[str, str]) -> bytes:
    """The ietf-restconf:errors body (RFC 8040 §7.1) in the chosen encoding."""
    if as_json:
        doc = {"ietf-restconf:errors": {"error": error_items(errors, modules)}}
        return json.dumps(doc, indent=2).encode()
    return etree.tostring(error_elements(errors, RESTCONF_NS), xml_declaration=True,
                          encoding="UTF-8")
