"""NETCONF messages: hello, <rpc> parsing and <rpc-reply> building.

This is THE only place <rpc-error> XML is built. Replies are assembled as bytes around
serialized body elements so handlers' elements are never moved out of their trees and each
body element is serialized once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from hvd_netconf.errors import (
    BadElement,
    MissingAttribute,
    MissingElement,
    RpcError,
    RpcErrors,
    UnknownElement,
)
from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11, nsmap, qn
from hvd_netconf.xmlparse import attributes

_HELLO = qn(BASE, "hello")
RPC_TAG = qn(BASE, "rpc")
_CAPS = qn(BASE, "capabilities")
_CAP = qn(BASE, "capability")
_SESSION_ID = qn(BASE, "session-id")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_NSMAP: dict[str | None, str] = {None: BASE}
_OK = b"<ok/>"
_CLOSE = b"</rpc-reply>"
_HEAD_MID = f'<rpc-reply xmlns="{BASE}" message-id="%b">'.encode()
_ATTR_ESCAPES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_PLAIN_ID = re.compile(r"[\w.:-]*")  # needs no escaping in an attribute (most clients' ids)


class BadHello(Exception):
    """The peer's hello is unacceptable; the session must be terminated."""


@dataclass(frozen=True)
class ClientHello:
    capabilities: tuple[str, ...]
    base: str  # "1.1" or "1.0": the highest version both sides speak


@dataclass
class Rpc:
    """A parsed <rpc>: its attributes (echoed in the reply) and the operation element."""

    attrib: dict[str, str]
    op: etree._Element

    @property
    def message_id(self) -> str:
        return self.attrib["message-id"]


def build_hello(capabilities: Iterable[str], session_id: int) -> bytes:
    hello = etree.Element(_HELLO, nsmap=nsmap(_NSMAP))
    caps = etree.SubElement(hello, _CAPS)
    for uri in capabilities:
        etree.SubElement(caps, _CAP).text = uri
    etree.SubElement(hello, _SESSION_ID).text = str(session_id)
    return etree.tostring(hello, xml_declaration=True, encoding="UTF-8")


def parse_hello(root: etree._Element, server_bases: Sequence[str] = ("1.0", "1.1")) -> ClientHello:
    """Check a client hello (RFC 6241 §8.1) and pick the base version both sides support."""
    if root.tag != _HELLO:
        raise BadHello(f"expected <hello>, got <{etree.QName(root).localname}>")
    if root.find(_SESSION_ID) is not None:
        raise BadHello("a client hello must not carry a session-id")
    caps_el = root.find(_CAPS)
    if caps_el is None:
        raise BadHello("hello without <capabilities>")
    caps = tuple((c.text or "").strip() for c in caps_el.iterchildren(_CAP))
    if not caps:
        raise BadHello("hello without any <capability>")
    if "1.1" in server_bases and CAP_BASE_11 in caps:
        base = "1.1"
    elif "1.0" in server_bases and CAP_BASE_10 in caps:
        base = "1.0"
    else:
        raise BadHello("no common NETCONF base version")
    return ClientHello(caps, base)


def parse_rpc(root: etree._Element) -> Rpc:
    """Check the <rpc> envelope; errors raised here are answered without running anything."""
    attrib = attributes(root)
    if root.tag != RPC_TAG:
        raise UnknownElement(
            f"expected <rpc>, got <{etree.QName(root).localname}>",
            error_type="rpc",
            info=[("bad-element", etree.QName(root).localname)],
        )
    if "message-id" not in attrib:
        raise MissingAttribute(
            "the <rpc> element has no message-id attribute",
            info=[("bad-attribute", "message-id"), ("bad-element", "rpc")],
        )
    ops = [child for child in root if isinstance(child.tag, str)]
    if not ops:
        raise MissingElement(
            "the <rpc> element names no operation",
            error_type="rpc",
            info=[("bad-element", "rpc")],
        )
    if len(ops) > 1:
        raise BadElement(
            "the <rpc> element holds more than one operation",
            error_type="rpc",
            info=[("bad-element", etree.QName(ops[1]).localname)],
        )
    return Rpc(attrib, ops[0])


def _head(attrib: dict[str, str] | None) -> bytes:
    if attrib is not None and len(attrib) == 1 and "message-id" in attrib:  # the usual case
        mid = attrib["message-id"]
        if not _PLAIN_ID.fullmatch(mid):
            mid = escape(mid, _ATTR_ESCAPES)
        return _HEAD_MID % mid.encode()
    el = etree.Element(qn(BASE, "rpc-reply"), attrib or {}, nsmap=nsmap(_NSMAP))
    text = etree.tostring(el)
    return text[:-2] + b">"


def reply_ok(attrib: dict[str, str]) -> bytes:
    return _head(attrib) + _OK + _CLOSE


def reply_body(attrib: dict[str, str],
               body: etree._Element | Sequence[etree._Element] | bytes) -> bytes:
    """`body` bytes are already serialised XML (a handler's RawXml), spliced as they are."""
    if isinstance(body, bytes):
        return _head(attrib) + body + _CLOSE
    if isinstance(body, etree._Element):
        return _head(attrib) + etree.tostring(body) + _CLOSE
    return _head(attrib) + b"".join(etree.tostring(el) for el in body) + _CLOSE


def error_element(err: RpcError) -> etree._Element:
    prefixes = dict(_NSMAP)
    prefixes.update(err.path_namespaces())
    el = etree.Element(qn(BASE, "rpc-error"), nsmap=nsmap(prefixes))
    etree.SubElement(el, qn(BASE, "error-type")).text = err.error_type
    etree.SubElement(el, qn(BASE, "error-tag")).text = err.tag
    etree.SubElement(el, qn(BASE, "error-severity")).text = err.severity
    if err.app_tag:
        etree.SubElement(el, qn(BASE, "error-app-tag")).text = err.app_tag
    if err.path:
        etree.SubElement(el, qn(BASE, "error-path")).text = err.path
    if err.message:
        msg = etree.SubElement(el, qn(BASE, "error-message"))
        msg.set(_XML_LANG, "en")
        msg.text = err.message
    if err.info:
        info = etree.SubElement(el, qn(BASE, "error-info"))
        for item in err.info:
            if isinstance(item, etree._Element):
                info.append(item)
            else:
                name, text = item
                etree.SubElement(info, qn(BASE, name)).text = text
    return el


def errors_of(exc: RpcError | RpcErrors) -> list[RpcError]:
    return exc.errors if isinstance(exc, RpcErrors) else [exc]


def reply_errors(attrib: dict[str, str] | None, errors: Sequence[RpcError]) -> bytes:
    return _head(attrib) + b"".join(etree.tostring(error_element(e)) for e in errors) + _CLOSE
