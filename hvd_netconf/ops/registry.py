"""The dispatch table: every NETCONF operation registers its handler here.

A handler gets the context (server, calling session) and the operation element (the child of
<rpc>). It returns None for <ok/>, the element(s) that make up the reply body (e.g. <data>),
or RawXml bytes spliced verbatim into <rpc-reply>; or it raises an RpcError. Registering a
handler is what makes hvd advertise its capability, so the hello never promises an operation
that has no code behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree

from hvd_netconf.calls import Reply, SessionInfo
from hvd_netconf.nacm.access import Nacm


class SessionTable(Protocol):
    def get(self, session_id: int) -> Any: ...

    def all(self) -> list[Any]: ...


class LockTable(Protocol):
    def lock(self, datastore: str, session_id: int) -> None: ...

    def unlock(self, datastore: str, session_id: int) -> None: ...

    def check_writable(self, datastore: str, session_id: int) -> None: ...

    def holder(self, datastore: str) -> int | None: ...

    def locked_time(self, datastore: str) -> str | None: ...


class ServerView(Protocol):
    """What the operations use of the server (hvd_netconf.server.Server is one). Declared here,
    below the server, because the server imports this table: the operations never import it."""

    sessions: SessionTable
    locks: LockTable
    nacm: Nacm
    schema: Any
    datastores: Any
    notifications: Any
    host: Any
    supervisor: Any
    settings: Any

    def capabilities(self) -> list[str]: ...


@dataclass
class OpContext:
    server: ServerView
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

    def register(
        self,
        ns: str,
        name: str,
        *,
        capabilities: Iterable[str] = (),
        serialized: bool = True,
    ) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            key = (ns, name)
            if key in self._ops:
                raise ValueError(f"operation {{{ns}}}{name} registered twice")
            self._ops[key] = Operation(ns, name, fn, tuple(capabilities), serialized)
            return fn

        return deco

    def add_capability(self, uri: str) -> None:
        """For capabilities that are not one operation (e.g. :writable-running, with-defaults)."""
        if uri not in self._capabilities:
            self._capabilities.append(uri)

    def lookup(self, ns: str, name: str) -> Operation | None:
        return self._ops.get((ns, name))

    def capabilities(self) -> list[str]:
        caps = list(self._capabilities)
        for op in self._ops.values():
            caps.extend(c for c in op.capabilities if c not in caps)
        return caps


OPERATIONS = Registry()
