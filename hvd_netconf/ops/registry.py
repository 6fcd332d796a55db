"""The dispatch table: the operations a server answers, each with its handler.

A handler gets the context (server, calling session) and the operation element (the child of
<rpc>). It returns None for <ok/>, the element(s) that make up the reply body (e.g. <data>),
or RawXml bytes spliced verbatim into <rpc-reply>; or it raises an RpcError. Adding a
handler is what makes hvd advertise its capability, so the hello never promises an operation
that has no code behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

if TYPE_CHECKING:
    from hvd_netconf.server import Server



@dataclass(frozen=True)
class RawXml:
    """Reply body already serialised (UTF-8, well-formed, namespaces declared).

    Lets a large read (get-config of 10,000 VMs) serialise the datastore straight into the
    reply instead of deep-copying it into a new tree first.
    """

    data: bytes


Reply = etree._Element | list[etree._Element] | RawXml | None


@dataclass
class SessionInfo:
    """What the operations may know about the calling session; the wire layer owns the rest."""

    id: int
    username: str
    transport: str  # "netconf-ssh" or "hvd-unix"
    source_host: str | None
    login_time: str  # RFC 3339
    uid: int | None = None
    groups: frozenset[str] = frozenset()
    in_rpcs: int = 0
    in_bad_rpcs: int = 0
    out_rpc_errors: int = 0
    out_notifications: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class OpContext:
    server: Server
    session: SessionInfo


Handler = Callable[[OpContext, etree._Element], Reply]


@dataclass(frozen=True)
class Operation:
    ns: str
    name: str
    handler: Handler
    capabilities: tuple[str, ...]
    serialized: bool  # run under the server's datastore lock


class Registry:
    def __init__(self) -> None:
        self._ops: dict[tuple[str, str], Operation] = {}
        self._capabilities: list[str] = []

    def add(self, ns: str, name: str, handler: Handler, *, capabilities: Iterable[str] = (),
            serialized: bool = True) -> None:
        key = (ns, name)
        if key in self._ops:
            raise ValueError(f"operation {{{ns}}}{name} added twice")
        self._ops[key] = Operation(ns, name, handler, tuple(capabilities), serialized)

    def add_capability(self, uri: str) -> None:
        """For capabilities that are not one operation (e.g. :writable-running, with-defaults)."""
        if uri not in self._capabilities:
            self._capabilities.append(uri)

    def lookup(self, ns: str, name: str) -> Operation | None:
        return self._ops.get((ns, name))

    def operations(self) -> list[Operation]:
        return list(self._ops.values())

    def capabilities(self) -> list[str]:
        caps = list(self._capabilities)
        for op in self._ops.values():
            caps.extend(c for c in op.capabilities if c not in caps)
        return caps
