"""One operation call as every layer above the wire sees it: who calls (SessionInfo) and what
comes back (Reply). The server, the operations, NACM and the transports share these types, so
they live below all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree


@dataclass(frozen=True)
class RawXml:
    """Reply body already serialised (UTF-8, well-formed, namespaces declared).

    Lets a large read (get-config of 10,000 VMs) serialise the datastore straight into the
    reply instead of deep-copying it into a new tree first.
    """

    data: bytes


Reply = etree._Element | list[etree._Element] | RawXml | None


# RESTCONF has no sessions (RFC 8040 §1.4): each request gets a SessionInfo of its own with
# this transport, and what spans requests (who edited the candidate) goes by the user.
RESTCONF_TRANSPORT = "restconf-https"


@dataclass
class SessionInfo:
    """What the operations may know about the calling session; the wire layer owns the rest."""

    id: int
    username: str
    transport: str  # "netconf-ssh", "hvd-unix", RESTCONF_TRANSPORT ...
    source_host: str | None
    login_time: str  # RFC 3339
    uid: int | None = None
    groups: frozenset[str] = frozenset()
    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
