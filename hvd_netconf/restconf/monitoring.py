"""`ietf-restconf-monitoring:restconf-state` (RFC 8040 §9.3): the RESTCONF capabilities and
where each event stream can be read, as operational state of the server, so NETCONF's <get>
and RESTCONF's GET report the same. A listener says where it serves (`serving`); with no
listener the container is absent."""

from __future__ import annotations

import socket
import weakref
from typing import Any

from lxml import etree

from hvd_netconf.notify.bus import format_time
from hvd_netconf.state import child, leaf

RCMON = "urn:ietf:params:xml:ns:yang:ietf-restconf-monitoring"
_CAP = "urn:ietf:params:restconf:capability:"
CAPABILITIES = (
    f"{_CAP}defaults:1.0?basic-mode=explicit",  # NETCONF's with-defaults basic mode in hvd
    f"{_CAP}depth:1.0",
    f"{_CAP}fields:1.0",
    f"{_CAP}filter:1.0",
    f"{_CAP}replay:1.0",
    f"{_CAP}with-defaults:1.0",
    f"{_CAP}yang-patch:1.0",
)
_BASES: weakref.WeakKeyDictionary[Any, list[str]] = weakref.WeakKeyDictionary()


def base_url(host: str, port: int) -> str:
    """https://HOST:PORT/restconf for a bound address; a wildcard becomes the host's name."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"https://{host}:{port}/restconf"


def serving(server: Any, addresses: list[tuple[str, int]]) -> None:
    _BASES[server] = [base_url(h, p) for h, p in addresses]


def restconf_state(server: Any, data: etree._Element) -> None:
    bases = _BASES.get(server)
    if not bases:
        return
    top = child(data, RCMON, "restconf-state")
    caps = child(top, RCMON, "capabilities")
    for cap in CAPABILITIES:
        leaf(caps, "capability", cap)
    bus = server.notifications
    if bus is None:
        return
    holder = child(top, RCMON, "streams")
    for s in bus.streams.values():
        el = etree.SubElement(holder, f"{{{RCMON}}}stream")
        leaf(el, "name", s.name)
        leaf(el, "description", s.description)
        leaf(el, "replay-support", s.replay_support)
        if s.replay_support:
            leaf(el, "replay-log-creation-time", format_time(s.replay_log_creation_time))
        for encoding in ("xml", "json"):
            access = etree.SubElement(el, f"{{{RCMON}}}access")
            leaf(access, "encoding", encoding)
            leaf(access, "location", f"{bases[0]}/streams/{s.name}/{encoding}")
