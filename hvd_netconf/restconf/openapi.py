"""An OpenAPI 3.0 description of the RESTCONF API, generated from the loaded YANG schema.

Served at `{+restconf}/openapi.json`. Each container and list of the modules is a path under
`data` (list keys as path parameters) with the methods RESTCONF allows on it, and each RPC a
POST under `operations`. Bodies are described in RFC 7951 JSON, the same mapping as
jsonenc.py: 8- to 32-bit integers as numbers with their built-in bounds, 64-bit ones and
decimal64 as strings, `empty` as `[null]`, enumerations with their names.
"""

from __future__ import annotations

from typing import Any

from hvd_netconf.restconf.jsonenc import NUMBER_BASES
from hvd_netconf.schema.nodes import Schema, SchemaNode
from hvd_netconf.schema.types import YangType

INT_LIMITS = {"int8": (-128, 127), "int16": (-32768, 32767), "int32": (-2**31, 2**31 - 1),
              "uint8": (0, 255), "uint16": (0, 65535), "uint32": (0, 2**32 - 1)}
JSON = "application/yang-data+json"
ERRORS = {"$ref": "#/components/responses/errors"}
HIDDEN = ("urn:ietf:params:xml:ns:netconf:base:1.0",
          "urn:ietf:params:xml:ns:netconf:notification:1.0")


def type_schema(yt: YangType) -> dict[str, Any]:
    base = yt.base
    if base == "leafref" and yt.target is not None and yt.target.type is not None:
        return type_schema(yt.target.type)
    if base in NUMBER_BASES:
        lo, hi = INT_LIMITS[base]
        return {"type": "integer", "minimum": lo, "maximum": hi}
    if base == "boolean":
        return {"type": "boolean"}
    if base == "empty":
        return {"type": "array", "minItems": 1, "maxItems": 1,
                "items": {"type": "string", "nullable": True, "enum": [None]}}
    if base == "enumeration":
        return {"type": "string", "enum": list(yt.enums)}
    if base == "union":
        return {"anyOf": [type_schema(m) for m in yt.members]}
    return {"type": "string", "description": f"YANG {yt.name} ({base})"}


def node_schema(node: SchemaNode) -> dict[str, Any]:
    """The JSON Schema of one node's value (a list's: one entry)."""
    if node.kind in ("leaf", "leaf-list"):
        assert node.type is not None
        leaf = type_schema(node.type)
        return {"type": "array", "items": leaf} if node.kind == "leaf-list" else leaf
    if node.kind == "anydata":
        return {"type": "object"}
    props = {(c.name if c.ns == node.ns else f"{c.module}:{c.name}"):
             ({"type": "array", "items": node_schema(c)} if c.kind == "list" else
              node_schema(c)) for c in node.children}
    out: dict[str, Any] = {"type": "object", "properties": props,
                           "additionalProperties": False}
    if node.kind == "list" and node.keys:  # a state list may have none
        out["required"] = list(node.keys)
    return out


def _member(node: SchemaNode) -> dict[str, Any]:
    """The body of a request or reply on node: one member, module-qualified."""
    value = node_schema(node)
    if node.kind == "list":
        value = {"type": "array", "items": value, "minItems": 1}
    return {"type": "object", "properties": {f"{node.module}:{node.name}": value},
            "additionalProperties": False}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {JSON: {"schema": schema}}}


def _data_paths(node: SchemaNode, prefix: str, params: list[dict[str, Any]],
                paths: dict[str, Any]) -> None:
    segment = node.name if node.parent is not None else f"{node.module}:{node.name}"
    here = list(params)
    if node.kind == "list":
        names = [f"{node.name}-{k}" for k in node.keys]
        segment += "=" + ",".join(f"{{{n}}}" for n in names)
        here += [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                 for n in names]
    path = f"{prefix}/{segment}"
    item: dict[str, Any] = {
        "get": {"summary": f"Read {node.name}", "responses": {
            "200": {"description": f"{node.name}", **_body(_member(node))},
            "default": ERRORS}},
    }
    if node.config:
        item["put"] = {"summary": f"Create or replace {node.name}",
                       "requestBody": _body(_member(node)),
                       "responses": {"201": {"description": "created"},
                                     "204": {"description": "replaced"}, "default": ERRORS}}
        item["patch"] = {"summary": f"Merge into {node.name}",
                         "requestBody": _body(_member(node)),
                         "responses": {"204": {"description": "merged"}, "default": ERRORS}}
        item["delete"] = {"summary": f"Delete {node.name}",
                          "responses": {"204": {"description": "deleted"}, "default": ERRORS}}
    if here:
        item["parameters"] = here
    paths[path] = item
    for child in node.children:
        if child.kind in ("container", "list"):
            _data_paths(child, path, here, paths)


def describe(schema: Schema, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for top in schema.tops:
        _data_paths(top, "/data", [], paths)
    for tag, rpc in sorted(schema.rpcs.items()):
        if rpc.ns in HIDDEN:
            continue
        out = schema.outputs.get(tag)
        responses: dict[str, Any] = {"204": {"description": "done"}, "default": ERRORS}
        if out is not None and out.children:
            responses["200"] = {"description": "output", **_body({
                "type": "object", "properties": {f"{out.module}:output": node_schema(out)}})}
        op: dict[str, Any] = {"summary": f"Invoke {rpc.module}:{rpc.name}",
                              "responses": responses}
        if rpc.children:
            op["requestBody"] = _body({"type": "object", "properties": {
                f"{rpc.module}:input": node_schema(rpc)}})
        paths[f"/operations/{rpc.module}:{rpc.name}"] = {"post": op}
    error = {"type": "object", "properties": {
        "error-type": {"type": "string"}, "error-tag": {"type": "string"},
        "error-app-tag": {"type": "string"}, "error-path": {"type": "string"},
        "error-message": {"type": "string"}, "error-info": {"type": "object"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "hvd RESTCONF", "version": version,
                 "description": "RESTCONF (RFC 8040) of hvd, generated from its YANG modules"},
        "servers": [{"url": "/restconf"}],
        "security": [{"basic": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "responses": {"errors": {"description": "ietf-restconf:errors", **_body({
                "type": "object", "properties": {"ietf-restconf:errors": {
                    "type": "object", "properties": {
                        "error": {"type": "array", "items": error}}}}})}},
        },
    }
