"""The in-process application every operation handler sees as `ctx.server`.

It owns what outlives one session: the session table, datastore locks, counters, hooks and the
components the daemon attaches. Transports hand it parsed <rpc>s; it runs the registered handler
and renders the reply once.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from hvd_netconf.calls import RawXml, SessionInfo
from hvd_netconf.config import Settings
from hvd_netconf.errors import (
    LockDenied,
    OperationFailed,
    OperationNotSupported,
    RpcError,
    RpcErrors,
)
from hvd_netconf.nacm.access import Nacm, is_recovery
from hvd_netconf.namespaces import CAP_BASE_10, CAP_BASE_11
from hvd_netconf.ops.jobs import Jobs
from hvd_netconf.ops.registry import OpContext, Registry, ServerView
from hvd_netconf.state import StateProviders
from hvd_netconf.wire import messages

if TYPE_CHECKING:
    from hvd_netconf.committer import Committer
    from hvd_netconf.host.backend import Host
    from hvd_netconf.host.netd import Netd
    from hvd_netconf.notify.bus import NotificationBus
    from hvd_netconf.notify.push import Subscriptions
    from hvd_netconf.ops.backup_schedule import BackupScheduler
    from hvd_netconf.ops.iscsiwatch import IscsiWatch
    from hvd_netconf.ops.snapshot_schedule import SnapshotScheduler
    from hvd_netconf.ops.uplinks import UplinkWatch
    from hvd_netconf.schema.nodes import Schema
    from hvd_netconf.stats.sampler import Sampler
    from hvd_netconf.store import Datastores
    from hvd_netconf.supervisor.core import Supervisor
    from hvd_netconf.supervisor.dhcp import DhcpServers

log = logging.getLogger(__name__)

StartHook = Callable[[SessionInfo], None]
EndHook = Callable[[SessionInfo, str, int | None], None]
Guard = Callable[[str, int], RpcError | None]
ReleaseHook = Callable[[str, int], None]

TERMINATION_REASONS = ("closed", "killed", "dropped", "timeout", "bad-hello", "other")


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LiveSession(Protocol):
    """What the server needs from a transport's session object."""

    info: SessionInfo

    def send_notification(self, element: Any) -> None: ...

    def terminate(self, reason: str, killed_by: int | None = None) -> None: ...

    def request_close(self) -> None: ...


class Sessions:
    """Live sessions by id; ids are unique for the life of the server (1, 2, ...)."""

    def __init__(self) -> None:
        self._by_id: dict[int, LiveSession] = {}
        self._ids = itertools.count(1)
        self._mutex = threading.Lock()

    def next_id(self) -> int:
        with self._mutex:
            return next(self._ids)

    def add(self, session: LiveSession) -> None:
        with self._mutex:
            self._by_id[session.info.id] = session

    def remove(self, session_id: int) -> None:
        with self._mutex:
            self._by_id.pop(session_id, None)

    def get(self, session_id: int) -> LiveSession | None:
        return self._by_id.get(session_id)

    def all(self) -> list[LiveSession]:
        with self._mutex:
            return list(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass
class _Held:
    session_id: int
    since: str


class Locks:
    """Global per-datastore locks (RFC 6241 §7.5); session id 0 is a non-NETCONF holder.
    `user_of` names a holder's user, so lock-denied says who holds the lock, not only
    the session id that error-info carries."""

    def __init__(self, user_of: Callable[[int], str | None] = lambda _sid: None) -> None:
        self._user_of = user_of
        self._held: dict[str, _Held] = {}
        self._guards: list[Guard] = []
        self._release_hooks: list[ReleaseHook] = []
        self._mutex = threading.RLock()

    def add_guard(self, fn: Guard) -> None:
        self._guards.append(fn)

    def add_release_hook(self, fn: ReleaseHook) -> None:
        self._release_hooks.append(fn)

    def holder(self, datastore: str) -> int | None:
        held = self._held.get(datastore)
        return held.session_id if held else None

    def locked_time(self, datastore: str) -> str | None:
        held = self._held.get(datastore)
        return held.since if held else None

    def describe(self, holder: int) -> str:
        user = self._user_of(holder)
        return f"session {holder} ({user})" if user else f"session {holder}"

    def lock(self, datastore: str, session_id: int) -> None:
        with self._mutex:
            holder = self.holder(datastore)
            if holder is not None:
                who = "this session" if holder == session_id else self.describe(holder)
                raise LockDenied(f"the {datastore} datastore is already locked by {who}",
                                 holder=holder)
            for guard in self._guards:
                err = guard(datastore, session_id)
                if err is not None:
                    raise err
            self._held[datastore] = _Held(session_id, now_rfc3339())

    def unlock(self, datastore: str, session_id: int) -> None:
        with self._mutex:
            holder = self.holder(datastore)
            if holder is None:
                raise OperationFailed(f"the {datastore} datastore is not locked",
                                      error_type="protocol")
            if holder != session_id:
                raise OperationFailed(
                    f"the {datastore} datastore is locked by session {holder}, not this one",
                    error_type="protocol")
            self._release(datastore, session_id)

    def release_all(self, session_id: int) -> list[str]:
        """Drop every lock the session holds (session end); returns the datastores released."""
        with self._mutex:
            mine = [ds for ds, held in self._held.items() if held.session_id == session_id]
            for ds in mine:
                self._release(ds, session_id)
            return mine

    def _release(self, datastore: str, session_id: int) -> None:
        del self._held[datastore]
        for hook in self._release_hooks:
            try:
                hook(datastore, session_id)
            except Exception:
                log.exception("lock release hook failed for %s", datastore)

    def check_writable(self, datastore: str, session_id: int) -> None:
        holder = self.holder(datastore)
        if holder is not None and holder != session_id:
            raise LockDenied(f"the {datastore} datastore is locked by "
                             f"{self.describe(holder)}", holder=holder)


class Stats:
    """Global counters of /netconf-state/statistics (RFC 6022)."""

    def __init__(self) -> None:
        self.netconf_start_time = now_rfc3339()
        self.in_bad_hellos = 0
        self.in_sessions = 0
        self.dropped_sessions = 0
        self.in_rpcs = 0
        self.in_bad_rpcs = 0
        self.out_rpc_errors = 0
        self.out_notifications = 0


class Server:
    def __init__(self, settings: Settings | None = None, registry: Registry | None = None,
                 state: StateProviders[ServerView] | None = None) -> None:
        self.settings = settings or Settings()
        self.registry = registry or Registry()  # daemon.operations() lists hvd's own
        # and daemon.state_providers() its state
        self.state: StateProviders[ServerView] = state or StateProviders()
        self.lock = threading.RLock()
        self.sessions = Sessions()
        self.locks = Locks(self._user_of)
        self.stats = Stats()
        # The parts the composition root (daemon.wire_components) gives it; None until then.
        self.schema: Schema | None = None
        self.datastores: Datastores | None = None
        self.notifications: NotificationBus | None = None
        self.host: Host | None = None
        self.netd: Netd | None = None  # daemon.wire_components, when a usable netd answers
        self.supervisor: Supervisor | None = None
        self.dhcp: DhcpServers | None = None  # the networks' dnsmasq (supervisor/dhcp.py)
        self.committer: Committer | None = None
        self.snapshot_scheduler: SnapshotScheduler | None = None
        self.uplink_watch: UplinkWatch | None = None
        self.iscsi_watch: IscsiWatch | None = None
        self.backup_scheduler: BackupScheduler | None = None
        self.sampler: Sampler | None = None  # stats-history; wired when the daemon keeps one
        self.subscriptions: Subscriptions | None = None  # YANG-Push (ops/yangpush.py)
        self.jobs = Jobs()  # backups and restores under way (ops/jobs.py)
        self.nacm = Nacm(self.settings.nacm_admin_group)
        self._start_hooks: list[StartHook] = []
        self._end_hooks: list[EndHook] = []

    def capabilities(self) -> list[str]:
        return [CAP_BASE_10, CAP_BASE_11, *self.registry.capabilities()]

    def _user_of(self, session_id: int) -> str | None:
        session = self.sessions.get(session_id)
        return session.info.username if session is not None else None

    def add_session_start_hook(self, fn: StartHook) -> None:
        self._start_hooks.append(fn)

    def add_session_end_hook(self, fn: EndHook) -> None:
        self._end_hooks.append(fn)

    def admission_refusal(self, info: SessionInfo) -> str | None:
        """Why a new session may not start (max-sessions, max-sessions-per-user), or None.
        The recovery session is never refused, so root cannot be locked out by a flood."""
        if is_recovery(info):
            return None
        live = [s.info for s in self.sessions.all()]
        limit = self.settings.max_sessions
        if limit and sum(not is_recovery(i) for i in live) >= limit:
            return f"the server already has {limit} sessions (max-sessions)"
        per_user = self.settings.max_sessions_per_user
        if per_user and sum(i.username == info.username for i in live) >= per_user:
            return (f"user {info.username!r} already has {per_user} sessions "
                    "(max-sessions-per-user)")
        return None

    def session_started(self, session: LiveSession) -> bool:
        """Called by the transport before the server hello (RFC 6022 in-sessions); False
        means the session is refused and must be closed without a hello."""
        with self.lock:
            refusal = self.admission_refusal(session.info)
            if refusal is not None:
                log.warning("session %d of %s refused: %s", session.info.id,
                            session.info.username, refusal)
                return False
            self.sessions.add(session)
            self.stats.in_sessions += 1
            for hook in self._start_hooks:
                try:
                    hook(session.info)
                except Exception:
                    log.exception("session start hook failed")
        return True

    def session_ended(self, session: LiveSession, reason: str, killed_by: int | None) -> None:
        """Release what the session held and tell the hooks; the transport calls it once."""
        if reason not in TERMINATION_REASONS:
            raise ValueError(f"bad termination reason {reason!r}")
        with self.lock:
            self.sessions.remove(session.info.id)
            self.locks.release_all(session.info.id)
            if reason == "bad-hello":
                self.stats.in_bad_hellos += 1
            elif reason in ("dropped", "timeout", "other"):
                self.stats.dropped_sessions += 1
            for hook in self._end_hooks:
                try:
                    hook(session.info, reason, killed_by)
                except Exception:
                    log.exception("session end hook failed")

    def count_bad_rpc(self, info: SessionInfo) -> None:
        info.in_bad_rpcs += 1
        info.out_rpc_errors += 1
        self.stats.in_bad_rpcs += 1
        self.stats.out_rpc_errors += 1

    def count_notification(self, info: SessionInfo) -> None:
        info.out_notifications += 1
        self.stats.out_notifications += 1

    def dispatch(self, info: SessionInfo, rpc: messages.Rpc, *,
                 files_after_reply: bool = False) -> bytes:
        """Run one <rpc> and return the unframed <rpc-reply>.

        `files_after_reply`: the caller sends the reply, then calls write_pending(); the
        store's files of a commit are written then, once the client has its answer (the
        commit is durable in the store's log before the reply either way).
        """
        info.in_rpcs += 1
        self.stats.in_rpcs += 1
        op_el = rpc.op
        tag = op_el.tag
        ns, _, name = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        try:
            op = self.registry.lookup(ns, name)
            if op is None:
                raise OperationNotSupported(f"operation {name!r} is not supported",
                                            info=[("bad-element", name)])
            self.nacm.authorize_rpc(info, ns, name, op_el)
            ctx = OpContext(self, info)
            if op.serialized:
                with self.lock:
                    dss = self.datastores if files_after_reply else None
                    if dss is not None:
                        dss.files_after_reply = True
                    try:
                        result = op.handler(ctx, op_el)
                    finally:
                        if dss is not None:
                            dss.files_after_reply = False
            else:
                result = op.handler(ctx, op_el)
            result = self.nacm.filter_reply(info, ns, name, result)
        except (RpcError, RpcErrors) as exc:
            return self._errors(info, rpc.attrib, messages.errors_of(exc))
        except Exception as exc:
            log.exception("operation %s failed", name)
            err = OperationFailed(f"internal error in {name}: {type(exc).__name__}: {exc}")
            return self._errors(info, rpc.attrib, [err])
        if result is None:
            return messages.reply_ok(rpc.attrib)
        if isinstance(result, RawXml):
            return messages.reply_body(rpc.attrib, result.data)
        return messages.reply_body(rpc.attrib, result)

    def write_pending(self) -> None:
        """Write what a request left for after its reply (dispatch's files_after_reply)."""
        dss = self.datastores
        if dss is not None and dss.has_pending:
            with self.lock:
                dss.write_pending()

    def _errors(self, info: SessionInfo, attrib: dict[str, str], errs: list[RpcError]) -> bytes:
        info.out_rpc_errors += 1
        self.stats.out_rpc_errors += 1
        return messages.reply_errors(attrib, errs)
