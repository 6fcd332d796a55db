"""YANG Patch (RFC 8072): an ordered list of edits, applied in order, all or nothing.

The edits are checked one by one first (target path, operation, value), and each fault is
reported against its edit-id with nothing applied. The good edits are then dispatched as one
`yang-patch` operation (hvd_netconf.ops.edit.yang_patch_op), each edit its own <config>,
which applies them to the datastore in turn and commits the result as one transaction with
one history entry. So a later edit sees what an earlier one made: a create then a merge of
the same entry, a delete of a leaf inside an entry created earlier. An edit the engine
refuses comes back naming its edit-id; the rest (validation, NACM, locks) are the patch's
global errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from hvd_netconf import xmlparse
from hvd_netconf.errors import InvalidValue, MalformedMessage, RpcError, RpcErrors
from hvd_netconf.namespaces import BASE, YANG_PATCH, default_ns
from hvd_netconf.restconf import errors, paths
from hvd_netconf.restconf.errors import RestError, RestErrors
from hvd_netconf.restconf.jsonenc import JsonCodec
from hvd_netconf.xmlparse import XmlLimits

PATCH_NS = YANG_PATCH
PATCH_JSON = "application/yang-patch+json"
PATCH_XML = "application/yang-patch+xml"
OPERATIONS = ("create", "delete", "insert", "merge", "move", "replace", "remove")
WHERE = ("before", "after", "first", "last")
_OP = f"{{{BASE}}}operation"


@dataclass
class Edit:
    edit_id: str
    operation: str
    target: str
    value: Any  # JSON members, an XML <value> element, or None
    point: str | None
    where: str | None


@dataclass
class Patch:
    patch_id: str
    edits: list[Edit]


def parse_json(body: bytes) -> Patch:
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        raise MalformedMessage(f"the body is not JSON: {exc}") from None
    if not isinstance(doc, dict) or list(doc) != ["ietf-yang-patch:yang-patch"] or \
            not isinstance(doc["ietf-yang-patch:yang-patch"], dict):
        raise InvalidValue("the body must be one member, ietf-yang-patch:yang-patch")
    top = doc["ietf-yang-patch:yang-patch"]
    unknown = set(top) - {"patch-id", "comment", "edit"}
    if unknown:
        raise InvalidValue(f"yang-patch has no member {sorted(unknown)[0]!r}")
    edits = []
    for item in top.get("edit", []):
        if not isinstance(item, dict):
            raise InvalidValue("each edit must be a JSON object")
        unknown = set(item) - {"edit-id", "operation", "target", "point", "where", "value"}
        if unknown:
            raise InvalidValue(f"an edit has no member {sorted(unknown)[0]!r}")
        edits.append(Edit(str(item.get("edit-id", "")), str(item.get("operation", "")),
                          str(item.get("target", "")), item.get("value"),
                          item.get("point"), item.get("where")))
    return _checked(Patch(str(top.get("patch-id", "")), edits))


def parse_xml(body: bytes, limits: XmlLimits) -> Patch:
    root = xmlparse.parse(body, limits)
    if root.tag != f"{{{PATCH_NS}}}yang-patch":
        raise InvalidValue(f'the body must be <yang-patch xmlns="{PATCH_NS}">')
    edits = []
    for el in root.iterchildren(f"{{{PATCH_NS}}}edit"):
        def text(name: str, el: etree._Element = el) -> str | None:
            return el.findtext(f"{{{PATCH_NS}}}{name}")
        edits.append(Edit(text("edit-id") or "", text("operation") or "",
                          text("target") or "", el.find(f"{{{PATCH_NS}}}value"),
                          text("point"), text("where")))
    return _checked(Patch(root.findtext(f"{{{PATCH_NS}}}patch-id") or "", edits))


def _checked(patch: Patch) -> Patch:
    if not patch.patch_id:
        raise InvalidValue("a yang-patch needs its patch-id")
    if not patch.edits:
        raise InvalidValue("a yang-patch needs at least one edit")
    ids = [e.edit_id for e in patch.edits]
    if "" in ids or len(set(ids)) != len(ids):
        raise InvalidValue("every edit needs an edit-id of its own")
    return patch


class Builder:
    """Turns a patch into the yang-patch operation for a target datastore (one <config>
    per edit, in the patch's order), or per-edit errors."""

    def __init__(self, codec: JsonCodec, limits: XmlLimits, base: list[paths.Step]) -> None:
        self.codec = codec
        self.limits = limits
        self.base = base

    def build(self, patch: Patch, target: str) -> tuple[etree._Element, dict[str, RestErrors]]:
        op = etree.Element(f"{{{PATCH_NS}}}yang-patch", nsmap=default_ns(PATCH_NS))
        etree.SubElement(etree.SubElement(op, f"{{{BASE}}}target"), f"{{{BASE}}}{target}")
        failed: dict[str, RestErrors] = {}
        for edit in patch.edits:
            try:
                config = self._config(edit)
            except (RestError, RestErrors, RpcError, RpcErrors) as exc:
                failed[edit.edit_id] = errors.from_exception(exc)
                continue
            item = etree.SubElement(op, f"{{{PATCH_NS}}}edit")
            etree.SubElement(item, f"{{{PATCH_NS}}}edit-id").text = edit.edit_id
            item.append(config)
        return op, failed

    def _config(self, edit: Edit) -> etree._Element:
        """The edit as a <config> of its own."""
        if edit.operation not in OPERATIONS:
            raise InvalidValue(f"operation {edit.operation!r} is not one of "
                               f"{', '.join(OPERATIONS)}")
        steps = paths.parse(self.codec.schema, edit.target, self.base)
        if len(steps) == len(self.base):
            raise InvalidValue("an edit's target must name a node below the patched resource")
        last = steps[-1]
        wants_value = edit.operation in ("create", "insert", "merge", "replace")
        if wants_value != (edit.value is not None):
            need = "needs" if wants_value else "takes no"
            raise InvalidValue(f"operation {edit.operation} {need} value")
        el = self._value(edit, last) if wants_value else paths.element_of(last, None)
        if edit.operation in ("insert", "move"):
            point = self._point(edit, last)
        config = etree.Element(f"{{{BASE}}}config")
        top, inner = paths.skeleton(steps[:-1]) if len(steps) > 1 else (None, config)
        if top is not None:
            config.append(top)
        inner.append(el)  # then the attributes: lxml may re-prefix a moved node
        el.set(_OP, {"insert": "create", "move": "merge"}.get(edit.operation, edit.operation))
        if edit.operation in ("insert", "move"):
            paths.set_insert(el, last.node, edit.where or "", point)
        return config

    def _value(self, edit: Edit, last: paths.Step) -> etree._Element:
        holder = etree.Element("holder")
        if isinstance(edit.value, etree._Element):
            holder.extend(c for c in edit.value if isinstance(c.tag, str))
        else:
            if not isinstance(edit.value, dict) or any(":" not in k for k in edit.value):
                raise InvalidValue("an edit's value is one member named module:name")
            self.codec.from_json(edit.value, last.node.parent, holder)
        found = list(holder)
        if len(found) != 1 or not paths.matches(found[0], last):
            raise InvalidValue(f"the value must be the node the target names "
                               f"({last.node.name}, with the same keys)")
        return found[0]

    def _point(self, edit: Edit, last: paths.Step) -> list[paths.Step] | None:
        if edit.where not in WHERE:
            raise InvalidValue(f"{edit.operation} needs where: {', '.join(WHERE)}")
        if edit.where in ("first", "last"):
            return None
        if not edit.point:
            raise InvalidValue(f"where {edit.where} needs a point")
        return paths.parse(self.codec.schema, edit.point, self.base)


def edit_errors(problem: RestErrors) -> dict[str, RestErrors]:
    """The yang-patch operation's errors by the edit they name (error-info `edit-id`), or
    nothing when one of them names no edit (validation, NACM, locks: the patch's errors)."""
    by_edit: dict[str, list[RestError]] = {}
    for err in problem.errors:
        ids = [text for name, text in err.info if name == "edit-id"]
        if not ids:
            return {}
        err.info = [item for item in err.info if item[0] != "edit-id"]
        by_edit.setdefault(ids[0], []).append(err)
    return {edit_id: RestErrors(errs) for edit_id, errs in by_edit.items()}


def status(patch: Patch, failed: dict[str, RestErrors], global_errors: RestErrors | None,
           as_json: bool, modules: Mapping[str, str]) -> bytes:
    """The yang-patch-status body (RFC 8072 §2.3); `modules` (namespace to module name)
    for the JSON form of error-path."""
    ok = not failed and global_errors is None
    if as_json:
        body: dict[str, Any] = {"patch-id": patch.patch_id}
        if ok:
            body["ok"] = [None]
        if global_errors is not None:
            body["errors"] = {"error": errors.error_items(global_errors, modules)}
        if failed:
            body["edit-status"] = {"edit": [
                {"edit-id": e.edit_id,
                 "errors": {"error": errors.error_items(failed[e.edit_id], modules)}}
                for e in patch.edits if e.edit_id in failed]}
        return json.dumps({"ietf-yang-patch:yang-patch-status": body}, indent=2).encode()
    root = etree.Element(f"{{{PATCH_NS}}}yang-patch-status", nsmap=default_ns(PATCH_NS))
    etree.SubElement(root, f"{{{PATCH_NS}}}patch-id").text = patch.patch_id
    if ok:
        etree.SubElement(root, f"{{{PATCH_NS}}}ok")
    if global_errors is not None:
        root.append(errors.error_elements(global_errors, PATCH_NS))
    if failed:
        edits = etree.SubElement(root, f"{{{PATCH_NS}}}edit-status")
        for e in patch.edits:
            if e.edit_id in failed:
                item = etree.SubElement(edits, f"{{{PATCH_NS}}}edit")
                etree.SubElement(item, f"{{{PATCH_NS}}}edit-id").text = e.edit_id
                item.append(errors.error_elements(failed[e.edit_id], PATCH_NS))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
