"""commit (with confirmed commit 1.1), cancel-commit, discard-changes, validate, copy-config
and delete-config: their parameters and checks. Every write of running they make goes through
the server's Committer (hvd_netconf.committer), which owns the steps and the pending commit.

Tag choices where RFC 6241 names no tag (Â§7.4, Â§7.5, Â§8.4): lock refused on a dirty
candidate -> lock-denied (holder 0); a commit by another session over a non-persistent
pending confirmed commit -> in-use; delete-config of running or candidate -> invalid-value, of
url -> operation-not-supported (hvd has none); startup is ops/startup.py's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lxml import etree

from hvd_netconf.calls import RESTCONF_TRANSPORT, Reply, SessionInfo
from hvd_netconf.committer import Committer, Pending
from hvd_netconf.edit import EditResult, edit_config
from hvd_netconf.edit.changes import changed_entries, images_root
from hvd_netconf.edit.diff import entries
from hvd_netconf.errors import (
    InUse,
    InvalidValue,
    MissingElement,
    OperationFailed,
    OperationNotSupported,
    RpcError,
    RpcErrors,
)
from hvd_netconf.host import constraints
from hvd_netconf.nacm import running as nacm_rules
from hvd_netconf.namespaces import BASE, DATASTORE_TAGS, HVD, qn
from hvd_netconf.ops import startup
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.schema.validate import validate
from hvd_netconf.store.datastore import new_config_root
from hvd_netconf.store.owners import RESTCONF, Editor
from hvd_netconf.store.private import PrivateCandidate

if TYPE_CHECKING:
    from hvd_netconf.schema.nodes import Schema
    from hvd_netconf.store import Datastore, Datastores

Key = tuple[str, str]
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
    if q.namespace == BASE and q.localname == "url":
        raise OperationNotSupported("hvd has no url datastore (:url)",
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


def components(server: ServerView) -> tuple[Schema, Datastores]:
    if server.schema is None or server.datastores is None or server.committer is None:
        raise OperationFailed("the configuration datastores are not available")
    return server.schema, server.datastores


def committer(server: ServerView) -> Committer:
    """The server's one write path of running (see hvd_netconf.committer)."""
    components(server)
    assert server.committer is not None
    return server.committer


def validate_scope(schema: Schema, store: Datastore, scope: Any,
                   level: str = "full") -> list[RpcError]:
    return validate(schema, store.root, scope, level, lookup=store.get)


def commit_running_edit(ctx: OpContext, res: EditResult,
                        old_root: etree._Element | None) -> None:
    """Turn an in-place edit of running back into a change set and write it like a commit."""
    write_running_edit(ctx.server, ctx.session, res, old_root, "edit-running")


@contextmanager
def undone_on_error(res: EditResult, store: Datastore, scope: Any) -> Iterator[None]:
    """An in-place edit of a datastore that the block checks: any error undoes it whole."""
    try:
        yield
    except BaseException:
        res.undo()
        store.reindex(scope)
        raise


def edit_running(server: ServerView, info: SessionInfo | None, config: etree._Element,
                 source: str, comment: str = "") -> int | None:
    """An edit of running that an operation makes for its user (info) or hvd makes itself
    (None): merged, validated in full over what it touched, then written through the Committer
    exactly as an edit-config on running; returns the commit id (None: nothing changed). The
    caller holds the datastore lock."""
    schema, dss = components(server)
    store = dss.running
    res = edit_config(schema, store.root, config, default_operation="merge",
                      error_option="rollback-on-error", lookup=store.get)
    if res.errors:  # rollback-on-error: already undone
        raise RpcErrors(res.errors)
    if not res.changed:
        return None
    scope = res.scope
    if scope is None:
        res.undo()
        raise OperationFailed(f"{source}: an edit of the whole datastore is not what it makes")
    with undone_on_error(res, store, scope):
        store.reindex(scope)
        errors = validate_scope(schema, store, scope)
        if errors:
            raise RpcErrors(errors)
    return write_running_edit(server, info, res, None, source, comment)


def write_running_edit(server: ServerView, info: SessionInfo | None, res: EditResult,
                       old_root: etree._Element | None, source: str, comment: str = ""
                       ) -> int | None:
    """Undo an in-place edit of running and write its change set through the Committer."""
    _schema, dss = components(server)
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
    if not changes:
        return None
    return committer(server).write(info, changes, images_root(changes.values()), source,
                                   comment)


def editor(info: SessionInfo) -> Editor:
    """The candidate's record of who edited an entry (hvd_netconf.store.owners); RESTCONF has
    no sessions, so all of a user's RESTCONF requests are one editor."""
    if info.transport == RESTCONF_TRANSPORT:
        return Editor(RESTCONF, info.username)
    return Editor(info.id, info.username)


FOREIGN_SHOWN = 10  # entries named in the refusal; the rest are counted


def check_foreign(dss: Datastores, info: SessionInfo) -> None:
    """Refuse to commit changes this session did not make, unless it said <force/>.

    The candidate is shared (RFC 6241 §8.3): without this, an edit another session left there
    (a client that never committed, another admin's shell) goes in under this session's name
    and comment, unseen. A client that means to commit the whole candidate says so.
    """
    me = editor(info)
    foreign = {k: eds for k, eds in dss.changes_by_editor().items()
               if any(e != me for e in eds)}
    if not foreign:
        return
    named = [f"{k[0]} {k[1]} (by " + ", ".join(e.describe() for e in eds if e != me) + ")"
             for k, eds in list(foreign.items())[:FOREIGN_SHOWN]]
    more = len(foreign) - len(named)
    if more:
        named.append(f"and {more} more")
    raise InUse("the candidate holds changes this session did not make: " + "; ".join(named)
                + ". Review them (/hvd-system:candidate in <get>), then commit with "
                "<force/> to commit them too, or discard-changes", info=[("bad-element", "force")])


def candidate_of(server: ServerView, info: SessionInfo) -> Datastores | PrivateCandidate:
    """The session's candidate: its private one (hvd-system:private-candidate) or the shared."""
    _schema, dss = components(server)
    return dss.candidate_of(info.id)


def refuse_private(server: ServerView, info: SessionInfo, what: str) -> None:
    """Operations that would mix the shared and a private candidate are not offered there."""
    if isinstance(candidate_of(server, info), PrivateCandidate):
        raise OperationNotSupported(f"{what} is not available in a private candidate; "
                                    "commit or discard it and close the session first")


def check_private_base(cand: PrivateCandidate, keys: list[Key]) -> None:
    """A private candidate commits onto running as it is now, never over a change made to
    the same entries since its copy was taken (Junos `configure private` refuses too)."""
    clashes = cand.conflicts(keys)
    if clashes:
        raise InUse("running changed since this private candidate was taken, at: "
                    + ", ".join(f"{k[0]} {k[1]}" for k in clashes)
                    + "; discard-changes starts again from running as it is now")


def candidate_changes(server: ServerView, info: SessionInfo
                      ) -> tuple[list[Key], dict[Key, Any]]:
    """The session's candidate's dirty keys and its real changes against running, after
    validating them as commit must; what commit and preview-commit both start from."""
    schema, dss = components(server)
    cand = candidate_of(server, info)
    keys = sorted(cand.dirty_keys)
    if not keys:
        return [], {}
    if isinstance(cand, PrivateCandidate):
        check_private_base(cand, keys)
        cand.rebase()
    errors = validate_scope(schema, cand.candidate, keys)
    if errors:
        raise RpcErrors(errors)
    pairs = changed_entries(keys, dss.running.get, cand.candidate.get, dss.running.root,
                            cand.candidate.root)
    nacm_rules.check(server.nacm, {k: p[1] for k, p in pairs.items()})
    return keys, pairs


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


def commit_op(ctx: OpContext, op: etree._Element) -> Reply:
    server, info = ctx.server, ctx.session
    st = committer(server)
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
    cand = candidate_of(server, info)
    if op.find(qn(HVD, "force")) is None and not isinstance(cand, PrivateCandidate):
        check_foreign(st.datastores, info)
    keys, pairs = candidate_changes(server, info)
    private = cand.candidate.root if isinstance(cand, PrivateCandidate) else None
    st.commit_candidate(info, {k: cand.candidate.get(k) for k in keys}, pairs, comment,
                        (persist, timeout) if confirmed else None, private)
    if isinstance(cand, PrivateCandidate):
        cand.discard_candidate()  # a new copy of running, which now holds the changes
    return None


def cancel_commit_op(ctx: OpContext, op: etree._Element) -> Reply:
    st = committer(ctx.server)
    p = st.pending
    if p is None:
        raise OperationFailed("no confirmed commit is pending", error_type="protocol")
    _check_persist_id(p, _text(op, BASE, "persist-id"), ctx.session)
    st.revert("cancel", ctx.session)
    return None


def discard_changes_op(ctx: OpContext, op: etree._Element) -> Reply:
    cand = candidate_of(ctx.server, ctx.session)
    if not isinstance(cand, PrivateCandidate):
        ctx.server.locks.check_writable("candidate", ctx.session.id)
    cand.discard_candidate()
    return None


def _inline_tree(schema: Any, config: etree._Element) -> etree._Element:
    """An inline <config> as a new tree: values checked and canonical, structure known."""
    root = new_config_root()
    res = edit_config(schema, root, config, default_operation="merge")
    if res.errors:
        raise RpcErrors(res.errors)
    return root


def validate_op(ctx: OpContext, op: etree._Element) -> Reply:
    schema, dss = components(ctx.server)
    source = datastore_param(op, "source", ("candidate", "running"), inline=True)
    if source == "config":
        root = _inline_tree(schema, config_param(op, op.find(qn(BASE, "source"))))
    elif source == "candidate":
        cand = candidate_of(ctx.server, ctx.session)
        if isinstance(cand, PrivateCandidate):
            cand.rebase()
        root = cand.candidate.root
    else:
        root = dss.running.root
    errors = validate(schema, root, None, "full") or constraints.check(
        ctx.server.host, root, None, entries(root).get, dss.running.get)
    if errors:
        raise RpcErrors(errors)
    return None


def copy_config_op(ctx: OpContext, op: etree._Element) -> Reply:
    server, info = ctx.server, ctx.session
    schema, dss = components(server)
    target = datastore_param(op, "target", ("candidate", "running", "startup"))
    source = datastore_param(op, "source", ("candidate", "running", "startup"), inline=True)
    if source == target:
        raise InvalidValue("source and target are the same datastore",
                           info=[("bad-element", "source")])
    cand = candidate_of(server, info)  # the session's own, in a private candidate
    if source == "config":
        new_root = _inline_tree(schema, config_param(op, op.find(qn(BASE, "source"))))
    elif source == "startup":
        new_root = startup.startup_root(server)
    else:
        new_root = (cand.candidate if source == "candidate" else dss.running).root
    if target == "startup":
        startup.save_startup(server, info, new_root)
        return None
    if not (target == "candidate" and isinstance(cand, PrivateCandidate)):
        server.locks.check_writable(target, info.id)  # a private candidate is no one else's
    if target == "candidate":
        if source == "running":
            cand.discard_candidate()
            return None
        pairs = changed_entries(None, cand.candidate.get, cand.candidate.get,
                                cand.candidate.root, new_root)
        server.nacm.authorize_write(info, pairs.values(), cand.candidate.root)
        for key, (_b, after) in pairs.items():
            cand.candidate.set_entry(key, copy.deepcopy(after) if after is not None else None)
        cand.mark_dirty(list(pairs), editor(info))
        cand.save_candidate()
        return None
    errors = validate(schema, new_root, None, "full")
    if errors:
        raise RpcErrors(errors)
    pairs = changed_entries(None, dss.running.get, dss.running.get, dss.running.root, new_root)
    changes = {k: p[1] for k, p in pairs.items()}
    if changes:
        committer(server).write(info, changes, new_root, "copy-config")
    return None


def delete_config_op(ctx: OpContext, op: etree._Element) -> Reply:
    target = datastore_param(op, "target", ("candidate", "running", "startup"))
    if target == "startup":
        startup.delete_startup(ctx.server, ctx.session)
        return None
    raise InvalidValue(f"the {target} datastore cannot be deleted (only startup can)",
                       info=[("bad-element", target)])
