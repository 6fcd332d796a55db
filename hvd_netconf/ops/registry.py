"""The dispatch table: the operations a server answers, each with its handler.

A handler gets the context (server, calling session) and the operation element (the child of
<rpc>). It returns None for <ok/>, the element(s) that make up the reply body (e.g. <data>),
or RawXml bytes spliced verbatim into <rpc-reply>; or it raises an RpcError. Adding a
handler is what makes hvd advertise its capability, so the hello never promises an operation
that has no code behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lxml import etree

from hvd_netconf.calls import Reply, SessionInfo
from hvd_netconf.nacm.access import Nacm

if TYPE_CHECKING:
    from hvd_netconf.committer import Committer
    from hvd_netconf.config import Settings
    from hvd_netconf.host.backend import Host
    from hvd_netconf.host.netd import Netd
    from hvd_netconf.notify.bus import NotificationBus
    from hvd_netconf.notify.push import Subscriptions
    from hvd_netconf.ops.jobs import Jobs
    from hvd_netconf.schema.nodes import Schema
    from hvd_netconf.state import StateProviders
    from hvd_netconf.stats.sampler import Sampler
    from hvd_netconf.store import Datastores
    from hvd_netconf.supervisor.core import Supervisor
    from hvd_netconf.supervisor.dhcp import DhcpServers


class SessionView(Protocol):
    """A live session as the operations see it (a transport's session object)."""

    info: SessionInfo

    def send_notification(self, element: etree._Element) -> None: ...

    def terminate(self, reason: str, killed_by: int | None = None) -> None: ...

    def request_close(self) -> None: ...


class SessionTable(Protocol):
    def get(self, session_id: int) -> SessionView | None: ...

    def all(self) -> list[SessionView]: ...


class LockTable(Protocol):
    def lock(self, datastore: str, session_id: int) -> None: ...

    def unlock(self, datastore: str, session_id: int) -> None: ...

    def check_writable(self, datastore: str, session_id: int) -> None: ...

    def holder(self, datastore: str) -> int | None: ...

    def locked_time(self, datastore: str) -> str | None: ...


class Counters(Protocol):
    """The server's /netconf-state/statistics counters (RFC 6022), read by monitoring."""

    @property
    def netconf_start_time(self) -> str: ...

    @property
    def in_bad_hellos(self) -> int: ...

    @property
    def in_sessions(self) -> int: ...

    @property
    def dropped_sessions(self) -> int: ...

    @property
    def in_rpcs(self) -> int: ...

    @property
    def in_bad_rpcs(self) -> int: ...

    @property
    def out_rpc_errors(self) -> int: ...

    @property
    def out_notifications(self) -> int: ...


class ServerView(Protocol):
    """What the operations use of the server (hvd_netconf.server.Server is one). Declared here,
    below the server, because the server imports this table: the operations never import it."""

    settings: Settings

    # Read-only here, so the server's own Sessions and Locks classes fit these protocols.
    @property
    def sessions(self) -> SessionTable: ...

    @property
    def locks(self) -> LockTable: ...


    @property
    def stats(self) -> Counters: ...

    state: StateProviders[ServerView]
    nacm: Nacm
    schema: Schema | None
    datastores: Datastores | None
    notifications: NotificationBus | None
    host: Host | None
    netd: Netd | None  # the netd session networks are configured through (None: ifconfig)
    supervisor: Supervisor | None
    dhcp: DhcpServers | None
    committer: Committer | None
    sampler: Sampler | None
    subscriptions: Subscriptions | None  # YANG-Push's dynamic subscriptions
    jobs: Jobs  # backups and restores under way

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

    def capabilities(self) -> list[str]:
        caps = list(self._capabilities)
        for op in self._ops.values():
            caps.extend(c for c in op.capabilities if c not in caps)
        return caps
