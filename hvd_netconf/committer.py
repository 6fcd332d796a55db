"""The one path every write of running takes, and the confirmed commit that may undo one.

Every writer (edit-config on running, commit, a confirmed commit's revert, cancel-commit,
rollback, copy-config) hands its change set to `Committer.write`, which runs the same steps in
the same order: the /nacm rules check, the user's write access, the host apply (with an undo),
the store's durable write (the undo runs if it fails, so neither host nor running changes),
settle, the /nacm reload and the netconf-config-change notification.
"""

from __future__ import annotations

import copy
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from lxml import etree

from hvd_netconf.calls import SessionInfo
from hvd_netconf.edit.changes import entry_target, images_root, operation
from hvd_netconf.errors import LockDenied, OperationFailed, RpcError
from hvd_netconf.keys import key_of, kind_of
from hvd_netconf.nacm import running as nacm_rules
from hvd_netconf.namespaces import default_ns, qn
from hvd_netconf.notify import events
from hvd_netconf.store import CommitMeta, atomic_write, gcpause, remove_file, serialize_entry
from hvd_netconf.xmlparse import parse_file

if TYPE_CHECKING:
    from hvd_netconf.nacm.access import Nacm
    from hvd_netconf.notify.bus import NotificationBus
    from hvd_netconf.store import Datastores

Key = tuple[str, str]
Undo = Callable[[], None]
CONFIRM_NS = "urn:hvd:store:confirmed-commit"


class HostApplier(Protocol):
    """What a commit needs from the host: apply a change (returning its undo), and learn that
    the commit is durable, so the crash journal of the host steps can go."""

    def apply(self, old_root: etree._Element, new_root: etree._Element,
              keys: Sequence[Key]) -> Undo: ...

    def settled(self) -> None: ...


@dataclass
class Pending:
    """A confirmed commit waiting for its confirmation; `revert` is running before the first."""

    session_id: int
    persist: str | None
    timeout: int
    deadline: float
    revert: dict[Key, Any] = field(default_factory=dict)
    timer: threading.Timer | None = None


def _meta(info: SessionInfo | None, source: str, comment: str = "") -> CommitMeta:
    if info is None:
        return CommitMeta(user="server", session_id=0, transport="", comment=comment,
                          source=source)
    return CommitMeta(user=info.username, session_id=info.id, transport=info.transport,
                      comment=comment, source=source)


def publish_config_change(bus: NotificationBus | None, info: SessionInfo | None,
                          datastore: str, pairs: Mapping[Key, Any]) -> None:
    """netconf-config-change (RFC 6470) for a written datastore, one edit per changed entry."""
    if bus is None or not pairs:
        return
    who = events.changed_by(info) if info is not None else events.SERVER
    ops = {"create": "create", "delete": "delete", "modify": "replace"}
    edits = [(entry_target(k, p[1] if p[1] is not None else p[0]), ops[operation(p)])
             for k, p in sorted(pairs.items())]
    bus.publish(lambda: events.config_change(who, datastore, edits))


class Committer:
    """Owns running's write path and the pending confirmed commit of one server."""

    def __init__(self, datastores: Datastores, nacm: Nacm, bus: NotificationBus | None,
                 host: HostApplier | None, lock: threading.RLock) -> None:
        self.datastores = datastores
        self.nacm = nacm
        self.bus = bus
        self.host = host
        self.lock = lock  # the server's datastore lock, taken by the revert timer
        self.pending: Pending | None = None

    # ---- the write path --------------------------------------------------------------------

    def write(self, info: SessionInfo | None, changes: Mapping[Key, Any],
              new_root: etree._Element, source: str, comment: str = "", *,
              changed: Sequence[Key] | None = None, from_candidate: bool = False,
              access: bool = True) -> int:
        """Write `changes` (key -> new entry or None) to the host, then durably to running;
        returns the commit id.

        `changed`: the keys that really differ from running (default: all of `changes`);
        `from_candidate`: the candidate is committed (its dirty marks go); `access`: check the
        user's write access here (commit does not: its edits were checked on the candidate).
        """
        keys = list(changes) if changed is None else list(changed)
        with gcpause.paused(len(keys)):
            return self._write(info, changes, new_root, source, comment, keys=keys,
                               from_candidate=from_candidate, access=access)

    def _write(self, info: SessionInfo | None, changes: Mapping[Key, Any],
               new_root: etree._Element, source: str, comment: str, *, keys: list[Key],
               from_candidate: bool, access: bool) -> int:
        dss = self.datastores
        nacm_rules.check(self.nacm, changes)
        befores = {k: dss.running.get(k) for k in keys}
        if access and info is not None:
            self.nacm.authorize_write(info, [(befores[k], changes[k]) for k in keys],
                                      dss.running.root)
        host = self.host
        undo = host.apply(dss.running.root, new_root, keys) if host is not None and keys else None
        meta = _meta(info, source, comment)
        try:
            if from_candidate:
                rec = dss.commit(dict(changes), meta)
            else:
                rec = dss.write_running(dict(changes), meta)
        except BaseException:
            if undo is not None:
                undo()
            raise
        if undo is not None and host is not None:
            host.settled()
        nacm_rules.reload(self.nacm, dss.running, changes)
        publish_config_change(self.bus, info, "running",
                              {k: (befores[k], changes[k]) for k in keys})
        return int(rec)

    # ---- hooks the server calls (installed by the composition root) -----------------------

    def lock_guard(self, datastore: str, session_id: int) -> RpcError | None:
        dss = self.datastores
        if datastore == "candidate" and dss.candidate_dirty:
            return LockDenied("the candidate has uncommitted changes; commit or discard them "
                              "before locking it", holder=0)
        p = self.pending
        if datastore == "running" and p is not None and p.session_id != session_id:
            return LockDenied(f"session {p.session_id} has a confirmed commit pending",
                              holder=p.session_id)
        return None

    def lock_released(self, datastore: str, session_id: int) -> None:
        dss = self.datastores
        if datastore == "candidate" and dss.candidate_dirty:
            dss.discard_candidate()

    def session_ended(self, info: SessionInfo, reason: str, killed_by: int | None) -> None:
        p = self.pending
        if p is not None and p.persist is None and p.session_id == info.id:
            self.revert("cancel", None)

    # ---- the confirmed commit --------------------------------------------------------------

    def commit_candidate(self, info: SessionInfo, changes: Mapping[Key, Any],
                         pairs: Mapping[Key, Any], comment: str,
                         confirm: tuple[str | None, int] | None,
                         private_root: etree._Element | None = None) -> None:
        """Commit the candidate's dirty `changes` (`pairs`: the real ones, before and after).

        `private_root`: the changes come from a private candidate with this tree (running
        plus the changes), not from the shared candidate.

        `confirm` is (persist, timeout) for a confirmed commit, which starts or extends the
        pending one; None confirms a pending one (or is a plain commit).
        """
        befores = {k: copy.deepcopy(p[0]) if p[0] is not None else None
                   for k, p in pairs.items()} if confirm is not None else {}
        if changes:
            root = self.datastores.candidate.root if private_root is None else private_root
            self.write(info, changes, root, "commit", comment, changed=list(pairs),
                       from_candidate=private_root is None, access=False)
        p = self.pending
        if confirm is None:
            if p is not None:
                self.clear()
                self.notify("complete", info, None)
            return
        persist, timeout = confirm
        if p is None:
            p = self.pending = Pending(info.id, persist, timeout, time.time() + timeout,
                                       befores)
            event = "start"
        else:
            for k, v in befores.items():
                p.revert.setdefault(k, v)
            p.persist, p.session_id = persist, info.id
            p.timeout, p.deadline = timeout, time.time() + timeout
            event = "extend"
        self.save()
        self._arm(timeout)
        self.notify(event, info, timeout)

    def path(self) -> str:
        return os.path.join(self.datastores.state_dir, "confirmed-commit.xml")

    def save(self) -> None:
        p = self.pending
        assert p is not None
        root = etree.Element(qn(CONFIRM_NS, "confirmed-commit"), nsmap=default_ns(CONFIRM_NS))
        root.set("session-id", str(p.session_id))
        root.set("timeout", str(p.timeout))
        root.set("deadline", repr(p.deadline))
        if p.persist is not None:
            root.set("persist", p.persist)
        for key, el in sorted(p.revert.items()):
            entry = etree.SubElement(root, qn(CONFIRM_NS, "entry"), kind=key[0], name=key[1])
            if el is not None:
                entry.append(etree.fromstring(serialize_entry(key, el)))
        atomic_write(self.path(), etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                     fsync=self.datastores.fsync)

    def restore(self) -> None:
        """After a restart: a persistent commit keeps its deadline; any other reverts now."""
        path = self.path()
        if not os.path.exists(path):
            return
        root = parse_file(path)
        revert: dict[Key, Any] = {}
        for entry in root.iterchildren(qn(CONFIRM_NS, "entry")):
            key = (entry.get("kind", ""), entry.get("name", ""))
            wrapped = next(iter(entry), None)
            el = wrapped if wrapped is None or kind_of(key).singleton else next(iter(wrapped), None)
            if el is not None and key_of(el) != key:
                raise OperationFailed(f"confirmed-commit state is inconsistent at {key}")
            revert[key] = el
        p = Pending(int(root.get("session-id", "0")), root.get("persist"),
                    int(root.get("timeout", "0")), float(root.get("deadline", "0")), revert)
        self.pending = p
        if p.persist is None:
            self.revert("cancel", None)
        else:
            self._arm(max(0.0, p.deadline - time.time()))

    def _arm(self, seconds: float) -> None:
        p = self.pending
        assert p is not None
        if p.timer is not None:
            p.timer.cancel()
        timer = threading.Timer(seconds, self._expired, args=(p,))
        timer.daemon = True
        p.timer = timer
        timer.start()

    def _expired(self, p: Pending) -> None:
        with self.lock:
            if self.pending is p:
                self.revert("timeout", None)

    def revert(self, event: str, info: SessionInfo | None) -> None:
        """Put running back as it was before the pending commit (the server writes it)."""
        p = self.pending
        assert p is not None
        changes = dict(p.revert)
        self.write(None, changes, images_root(changes.values()), "confirmed-revert")
        self.clear()
        self.notify(event, info, None)

    def clear(self) -> None:
        p = self.pending
        if p is not None and p.timer is not None:
            p.timer.cancel()
        self.pending = None
        path = self.path()
        if os.path.exists(path):
            remove_file(path, fsync=self.datastores.fsync)

    def notify(self, event: str, info: SessionInfo | None, timeout: int | None) -> None:
        bus = self.bus
        if bus is None:
            return
        who = events.changed_by(info) if info is not None else events.SERVER
        bus.publish(events.confirmed_commit(who, event, timeout))

    def stop(self) -> None:
        """At daemon stop: disarm the revert timer; the pending commit stays saved for the next
        start, which keeps its deadline (persist) or reverts it."""
        p = self.pending
        if p is not None and p.timer is not None:
            p.timer.cancel()
