"""commit (with confirmed commit 1.1), cancel-commit, discard-changes, validate, copy-config,
delete-config, and the one path every write of running takes: validate, apply to the host,
then the store's durable write; a failed write undoes the host, so neither changes.

Tag choices where RFC 6241 names no tag (§7.4, §7.5, §8.4): lock refused on a dirty
candidate -> lock-denied (holder 0); a commit by another session over a non-persistent
pending confirmed commit -> in-use; delete-config of running or candidate -> invalid-value, of
startup/url -> operation-not-supported (hvd has neither).
"""

from __future__ import annotations

import copy
import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from hvd_netconf.calls import Reply, SessionInfo
from hvd_netconf.edit import EditResult, edit_config
from hvd_netconf.edit.changes import changed_entries, entry_target, images_root, operation
from hvd_netconf.edit.diff import entries
from hvd_netconf.errors import (
    InUse,
    InvalidValue,
    LockDenied,
    MissingElement,
    OperationFailed,
    OperationNotSupported,
    RpcError,
    RpcErrors,
)
from hvd_netconf.host import constraints
from hvd_netconf.keys import key_of, kind_of
from hvd_netconf.nacm import running as nacm_rules
from hvd_netconf.namespaces import BASE, CAP_PREFIX, DATASTORE_TAGS, HVD, qn
from hvd_netconf.notify import events
from hvd_netconf.ops.registry import OPERATIONS, OpContext
from hvd_netconf.schema.validate import validate
from hvd_netconf.store import CommitMeta, atomic_write, remove_file, serialize_entry
from hvd_netconf.store.datastore import new_config_root
from hvd_netconf.xmlparse import parse_file

Key = tuple[str, str]
CONFIRM_NS = "urn:hvd:store:confirmed-commit"
DEFAULT_CONFIRM_TIMEOUT = 600


# ---- parameters ---------------------------------------------------------------------------

def datastore_param(op: etree._Element, name: str, allowed: tuple[str, ...],
                    inline: bool = False) -> str:
    """The datastore named in <target>/<source>; 'config' for an inline <config> if allowed."""
    holder = op.find(qn(BASE, name))
    if holder is None:
        raise MissingElement(f"<{name}> is missing", error_type="protocol",
                             info=[("bad-element", name)])
    kids = [c for c in holder if isinstance(c.tag, str)]
    if len(kids) != 1:
        raise InvalidValue(f"<{name}> must name exactly one datastore",
                           info=[("bad-element", name)])
    known = DATASTORE_TAGS.get(kids[0].tag)
    if known is not None and known in allowed:
        return known
    q = etree.QName(kids[0])
    if q.namespace in (BASE, None) and q.localname == "config" and inline:
        return "config"
    if q.namespace == BASE and q.localname in ("url", "startup"):
        raise OperationNotSupported(f"hvd has no {q.localname} datastore (:url, :startup)",
                                    info=[("bad-element", q.localname)])
    if q.namespace != BASE or q.localname not in allowed:
        raise InvalidValue(f"<{name}> must be one of {', '.join(allowed)}",
                           info=[("bad-element", q.localname)])
    return q.localname


def config_param(op: etree._Element, holder: etree._Element | None = None) -> etree._Element:
    holder = op if holder is None else holder
    config = holder.find(qn(BASE, "config"))
    if config is None:
        # ncclient's documented usage sends <config> without a namespace; accept it.
        config = holder.find("config")
    if config is None:
        if holder.find(qn(BASE, "url")) is not None:
            raise OperationNotSupported("hvd does not support :url",
                                        info=[("bad-element", "url")])
        raise MissingElement("<config> is missing", error_type="protocol",
                             info=[("bad-element", "config")])
    return config


def components(server: Any) -> tuple[Any, Any]:
    if server.schema is None or server.datastores is None:
        raise OperationFailed("the configuration datastores are not available")
    state(server)
    return server.schema, server.datastores


def validate_scope(schema: Any, store: Any, scope: Any, level: str = "full") -> list[RpcError]:
    return validate(schema, store.root, scope, level, lookup=store.get)


def _meta(info: SessionInfo | None, source: str, comment: str = "") -> Any:
    if info is None:
        return CommitMeta(user="server", session_id=0, transport="", comment=comment,
                          source=source)
    return CommitMeta(user=info.username, session_id=info.id, transport=info.transport,
                      comment=comment, source=source)


# ---- the write path -----------------------------------------------------------------------

def write_running(server: Any, info: SessionInfo | None, changes: Mapping[Key, Any],
                  new_root: etree._Element, source: str, comment: str = "",
                  from_candidate: bool = False) -> int:
    """Apply `changes` (key -> new entry or None) to the host, then durably to running.

    The host hook returns an undo; a failed durable write runs it, so running and the host
    stay as they were after any failure.
    """
    dss = server.datastores
    nacm_rules.check(server, changes)
    befores = {k: dss.running.get(k) for k in changes}
    hook = getattr(server, "apply_changes", None)
    undo = hook(dss.running.root, new_root, list(changes)) if hook and changes else None
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
    _settled(hook, undo)
    nacm_rules.reload(server, changes)
    _notify_change(server, info, {k: (befores[k], changes[k]) for k in changes})
    return int(rec)


def _settled(hook: Any, undo: Any) -> None:
    """The commit is durable: the hook's crash journal of the host steps is not needed now."""
    settled = getattr(hook, "settled", None)
    if undo is not None and settled is not None:
        settled()


def _notify_change(server: Any, info: SessionInfo | None, pairs: Mapping[Key, Any]) -> None:
    bus = server.notifications
    if bus is None or not pairs:
        return
    who = events.changed_by(info) if info is not None else events.SERVER
    ops = {"create": "create", "delete": "delete", "modify": "replace"}
    edits = [(entry_target(k, p[1] if p[1] is not None else p[0]), ops[operation(p)])
             for k, p in sorted(pairs.items())]
    bus.publish(lambda: events.config_change(who, "running", edits))


def commit_running_edit(ctx: OpContext, res: EditResult,
                        old_root: etree._Element | None) -> None:
    """Turn an in-place edit of running back into a change set and write it like a commit."""
    server, dss = ctx.server, ctx.server.datastores
    store = dss.running
    if old_root is None:
        keys = sorted(res.touched)
        afters = {k: res.after(k) for k in keys}
        res.undo()
        store.reindex(keys)
        pairs = changed_entries(keys, store.get, afters.get, store.root, store.root)
    else:
        new_root = copy.deepcopy(store.root)
        res.undo()
        store.reindex(None)
        pairs = changed_entries(None, store.get, store.get, old_root, new_root)
    changes = {k: p[1] for k, p in pairs.items()}
    if changes:
        write_running(server, ctx.session, changes, images_root(changes.values()),
                      "edit-running")


def candidate_changes(server: Any) -> tuple[list[Key], dict[Key, Any]]:
    """The candidate's dirty keys and its real changes against running, after validating
    them as commit must; what commit and preview-commit both start from."""
    schema, dss = components(server)
    keys = sorted(dss.dirty_keys)
    if not keys:
        return [], {}
    errors = validate_scope(schema, dss.candidate, keys)
    if errors:
        raise RpcErrors(errors)
    pairs = changed_entries(keys, dss.running.get, dss.candidate.get, dss.running.root,
                            dss.candidate.root)
    nacm_rules.check(server, {k: p[1] for k, p in pairs.items()})
    return keys, pairs


def _commit_candidate(ctx: OpContext, comment: str, confirmed: bool) -> dict[Key, Any]:
    """Validate the candidate over its dirty entries and commit them; returns the befores
    a confirmed commit reverts to (none for a plain commit)."""
    dss = ctx.server.datastores
    keys, pairs = candidate_changes(ctx.server)
    if not keys:
        return {}
    befores = {k: copy.deepcopy(p[0]) if p[0] is not None else None
               for k, p in pairs.items()} if confirmed else {}
    changes = {k: dss.candidate.get(k) for k in keys}
    hook = getattr(ctx.server, "apply_changes", None)
    undo = hook(dss.running.root, dss.candidate.root, list(pairs)) if hook and pairs else None
    try:
        dss.commit(changes, _meta(ctx.session, "commit", comment))
    except BaseException:
        if undo is not None:
            undo()
        raise
    _settled(hook, undo)
    nacm_rules.reload(ctx.server, changes)
    _notify_change(ctx.server, ctx.session, pairs)
    return befores


# ---- confirmed commit ---------------------------------------------------------------------

@dataclass
class Pending:
    """A confirmed commit waiting for its confirmation; `revert` is running before the first."""

    session_id: int
    persist: str | None
    timeout: int
    deadline: float
    revert: dict[Key, Any] = field(default_factory=dict)
    timer: threading.Timer | None = None


class TxnState:
    """Per-server transaction state: the pending confirmed commit and the installed hooks."""

    def __init__(self, server: Any) -> None:
        self.server = weakref.proxy(server)
        self.pending: Pending | None = None
        server.locks.add_guard(self.lock_guard)
        server.locks.add_release_hook(self.lock_released)
        server.add_session_end_hook(self.session_ended)

    # hooks

    def lock_guard(self, datastore: str, session_id: int) -> RpcError | None:
        dss = self.server.datastores
        if datastore == "candidate" and dss is not None and dss.candidate_dirty:
            return LockDenied("the candidate has uncommitted changes; commit or discard them "
                              "before locking it", holder=0)
        p = self.pending
        if datastore == "running" and p is not None and p.session_id != session_id:
            return LockDenied(f"session {p.session_id} has a confirmed commit pending",
                              holder=p.session_id)
        return None

    def lock_released(self, datastore: str, session_id: int) -> None:
        dss = self.server.datastores
        if datastore == "candidate" and dss is not None and dss.candidate_dirty:
            dss.discard_candidate()

    def session_ended(self, info: SessionInfo, reason: str, killed_by: int | None) -> None:
        p = self.pending
        if p is not None and p.persist is None and p.session_id == info.id:
            self.revert("cancel", None)

    # the pending commit

    def path(self) -> str:
        return os.path.join(self.server.datastores.state_dir, "confirmed-commit.xml")

    def save(self) -> None:
        p = self.pending
        assert p is not None
        root = etree.Element(qn(CONFIRM_NS, "confirmed-commit"), nsmap={None: CONFIRM_NS})
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
                     fsync=self.server.datastores.fsync)

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
        try:
            with self.server.lock:
                if self.pending is p:
                    self.revert("timeout", None)
        except ReferenceError:
            return

    def revert(self, event: str, info: SessionInfo | None) -> None:
        p = self.pending
        assert p is not None
        changes = dict(p.revert)
        new_root = images_root(changes.values())
        write_running(self.server, None, changes, new_root, "confirmed-revert")
        self.clear()
        self.notify(event, info, None)

    def clear(self) -> None:
        p = self.pending
        if p is not None and p.timer is not None:
            p.timer.cancel()
        self.pending = None
        path = self.path()
        if os.path.exists(path):
            remove_file(path, fsync=self.server.datastores.fsync)

    def notify(self, event: str, info: SessionInfo | None, timeout: int | None) -> None:
        bus = self.server.notifications
        if bus is None:
            return
        who = events.changed_by(info) if info is not None else events.SERVER
        bus.publish(events.confirmed_commit(who, event, timeout))


_STATES: weakref.WeakKeyDictionary[Any, TxnState] = weakref.WeakKeyDictionary()


def state(server: Any) -> TxnState:
    st = _STATES.get(server)
    if st is None:
        st = _STATES[server] = TxnState(server)
    return st


def attach(server: Any) -> TxnState:
    """Install the lock guards and session hooks; restore a confirmed commit left pending."""
    st = state(server)
    if server.datastores is not None:
        with server.lock:
            st.restore()
    return st


def detach(server: Any) -> None:
    """At daemon stop: disarm the revert timer; the pending commit stays saved for the next
    start, which keeps its deadline (persist) or reverts it."""
    st = _STATES.get(server)
    if st is not None and st.pending is not None and st.pending.timer is not None:
        st.pending.timer.cancel()


# ---- operations ---------------------------------------------------------------------------

def _text(op: etree._Element, ns: str, name: str) -> str | None:
    el = op.find(qn(ns, name))
    return None if el is None else (el.text or "").strip()


def _check_persist_id(p: Pending, given: str | None, info: SessionInfo) -> None:
    if p.persist is not None:
        if given != p.persist:
            raise InvalidValue("persist-id does not match the pending confirmed commit",
                               info=[("bad-element", "persist-id")])
    elif given is not None:
        raise InvalidValue("the pending confirmed commit is not persistent",
                           info=[("bad-element", "persist-id")])
    elif p.session_id != info.id:
        raise InUse(f"the pending confirmed commit belongs to session {p.session_id}")


@OPERATIONS.register(BASE, "commit", capabilities=[
    f"{CAP_PREFIX}candidate:1.0", f"{CAP_PREFIX}confirmed-commit:1.1"])
def commit_op(ctx: OpContext, op: etree._Element) -> Reply:
    server, info = ctx.server, ctx.session
    _schema, _dss = components(server)
    st = state(server)
    server.locks.check_writable("running", info.id)
    confirmed = op.find(qn(BASE, "confirmed")) is not None
    timeout_text = _text(op, BASE, "confirm-timeout")
    persist = _text(op, BASE, "persist")
    persist_id = _text(op, BASE, "persist-id")
    comment = _text(op, HVD, "comment") or ""
    if len(comment) > 1024:
        raise InvalidValue("comment is longer than 1024 characters",
                           info=[("bad-element", "comment")])
    timeout = DEFAULT_CONFIRM_TIMEOUT
    if timeout_text is not None:
        if not timeout_text.isdigit() or not 1 <= int(timeout_text) <= 2**32 - 1:
            raise InvalidValue("confirm-timeout is 1..4294967295 seconds",
                               info=[("bad-element", "confirm-timeout")])
        timeout = int(timeout_text)
    p = st.pending
    if p is not None:
        _check_persist_id(p, persist_id, info)
    elif persist_id is not None:
        raise InvalidValue("no confirmed commit is pending", info=[("bad-element", "persist-id")])
    befores = _commit_candidate(ctx, comment, confirmed)
    if not confirmed:
        if p is not None:
            st.clear()
            st.notify("complete", info, None)
        return None
    if p is None:
        p = st.pending = Pending(info.id, persist, timeout, time.time() + timeout, befores)
        event = "start"
    else:
        for k, v in befores.items():
            p.revert.setdefault(k, v)
        p.persist, p.session_id = persist, info.id
        p.timeout, p.deadline = timeout, time.time() + timeout
        event = "extend"
    st.save()
    st._arm(timeout)
    st.notify(event, info, timeout)
    return None


@OPERATIONS.register(BASE, "cancel-commit")
def cancel_commit_op(ctx: OpContext, op: etree._Element) -> Reply:
    components(ctx.server)
    st = state(ctx.server)
    p = st.pending
    if p is None:
        raise OperationFailed("no confirmed commit is pending", error_type="protocol")
    _check_persist_id(p, _text(op, BASE, "persist-id"), ctx.session)
    st.revert("cancel", ctx.session)
    return None


@OPERATIONS.register(BASE, "discard-changes")
def discard_changes_op(ctx: OpContext, op: etree._Element) -> Reply:
    _schema, dss = components(ctx.server)
    ctx.server.locks.check_writable("candidate", ctx.session.id)
    dss.discard_candidate()
    return None


def _inline_tree(schema: Any, config: etree._Element) -> etree._Element:
    """An inline <config> as a new tree: values checked and canonical, structure known."""
    root = new_config_root()
    res = edit_config(schema, root, config, default_operation="merge")
    if res.errors:
        raise RpcErrors(res.errors)
    return root


@OPERATIONS.register(BASE, "validate", capabilities=[f"{CAP_PREFIX}validate:1.1"])
def validate_op(ctx: OpContext, op: etree._Element) -> Reply:
    schema, dss = components(ctx.server)
    source = datastore_param(op, "source", ("candidate", "running"), inline=True)
    if source == "config":
        root = _inline_tree(schema, config_param(op, op.find(qn(BASE, "source"))))
    else:
        root = (dss.candidate if source == "candidate" else dss.running).root
    errors = validate(schema, root, None, "full") or constraints.check(
        ctx.server.host, root, None, entries(root).get, dss.running.get)
    if errors:
        raise RpcErrors(errors)
    return None


@OPERATIONS.register(BASE, "copy-config")
def copy_config_op(ctx: OpContext, op: etree._Element) -> Reply:
    server, info = ctx.server, ctx.session
    schema, dss = components(server)
    target = datastore_param(op, "target", ("candidate", "running"))
    source = datastore_param(op, "source", ("candidate", "running"), inline=True)
    if source == target:
        raise InvalidValue("source and target are the same datastore",
                           info=[("bad-element", "source")])
    server.locks.check_writable(target, info.id)
    if source == "config":
        new_root = _inline_tree(schema, config_param(op, op.find(qn(BASE, "source"))))
    else:
        new_root = (dss.candidate if source == "candidate" else dss.running).root
    if target == "candidate":
        if source == "running":
            dss.discard_candidate()
            return None
        pairs = changed_entries(None, dss.candidate.get, dss.candidate.get,
                                dss.candidate.root, new_root)
        server.nacm.authorize_write(info, pairs.values(), dss.candidate.root)
        for key, (_b, after) in pairs.items():
            dss.candidate.set_entry(key, copy.deepcopy(after) if after is not None else None)
        dss.mark_dirty(list(pairs))
        dss.save_candidate()
        return None
    errors = validate(schema, new_root, None, "full")
    if errors:
        raise RpcErrors(errors)
    pairs = changed_entries(None, dss.running.get, dss.running.get, dss.running.root, new_root)
    server.nacm.authorize_write(info, pairs.values(), dss.running.root)
    changes = {k: p[1] for k, p in pairs.items()}
    if changes:
        write_running(server, info, changes, new_root, "copy-config")
    return None


@OPERATIONS.register(BASE, "delete-config")
def delete_config_op(ctx: OpContext, op: etree._Element) -> Reply:
    target = datastore_param(op, "target", ("candidate", "running"))
    raise InvalidValue(f"the {target} datastore cannot be deleted (only startup or url can, "
                       "and hvd has neither)", info=[("bad-element", target)])
