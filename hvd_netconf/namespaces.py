"""XML namespaces and capability URIs used across hvd, in one place so they never drift."""

from collections.abc import Mapping
from typing import cast

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
NOTIF = "urn:ietf:params:xml:ns:netconf:notification:1.0"
NETMOD_NOTIF = "urn:ietf:params:xml:ns:netmod:notification"
WITH_DEFAULTS = "urn:ietf:params:xml:ns:yang:ietf-netconf-with-defaults"
WD_ATTR = "urn:ietf:params:xml:ns:netconf:default:1.0"
MONITORING = "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring"
NC_NOTIFICATIONS = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications"
NACM = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"
YANG_LIBRARY = "urn:ietf:params:xml:ns:yang:ietf-yang-library"
NMDA = "urn:ietf:params:xml:ns:yang:ietf-netconf-nmda"
DATASTORES = "urn:ietf:params:xml:ns:yang:ietf-datastores"
YANG_ATTR = "urn:ietf:params:xml:ns:yang:1"
YANG_PATCH = "urn:ietf:params:xml:ns:yang:ietf-yang-patch"

VM = "urn:hvd:vm"
NETWORK = "urn:hvd:network"
TYPES = "urn:hvd:types"
HVD = "urn:hvd:system"
TEMPLATE = "urn:hvd:template"

CAP_BASE_10 = "urn:ietf:params:netconf:base:1.0"
CAP_BASE_11 = "urn:ietf:params:netconf:base:1.1"
CAP_PREFIX = "urn:ietf:params:netconf:capability:"

# Prefixes used when rendering error-path and other XPath strings; the reply declares them.
PREFIXES: dict[str, str] = {
    "nc": BASE,
    "hvd-vm": VM,
    "hvd-net": NETWORK,
    "hvd-t": TYPES,
    "hvd": HVD,
    "hvd-tpl": TEMPLATE,
    "ncm": MONITORING,
    "nacm": NACM,
    "yanglib": YANG_LIBRARY,
    "ncwd": WITH_DEFAULTS,
}


def qn(ns: str, name: str) -> str:
    """Clark notation, as lxml wants it."""
    return f"{{{ns}}}{name}"


def nsmap(prefixes: Mapping[str | None, str]) -> Mapping[str, str]:
    """A namespace map for lxml, where the key None declares the default namespace.

    lxml takes that None key; lxml-stubs types nsmap as Mapping[str, str], so the one cast
    that says otherwise lives here (docs/typing.md, the adapter rule).
    """
    return cast("Mapping[str, str]", prefixes)


def default_ns(ns: str) -> Mapping[str, str]:
    """The namespace map that makes ns the default namespace of an element."""
    return nsmap({None: ns})


# hvd's datastores, by the element that names them in <target> or <source>.
DATASTORE_TAGS = {qn(BASE, name): name for name in ("running", "candidate", "startup")}
