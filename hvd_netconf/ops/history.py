"""hvd-system RPCs over the commit history: get-commit-history, compare, rollback.

All of them cost O(change): a past configuration is running plus the history's before-images
of the entries changed since (History.revert_changes), never a copy of the whole datastore.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.edit.changes import changed_entries, patch, unified_diff
from hvd_netconf.errors import InvalidValue, RpcErrors
from hvd_netconf.namespaces import HVD, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext

if TYPE_CHECKING:
    from hvd_netconf.store import Datastores
    from hvd_netconf.store.private import PrivateCandidate

Key = tuple[str, str]


def _int(op: etree._Element, name: str, default: int, lo: int, hi: int) -> int:
    el = op.find(qn(HVD, name))
    if el is None:
        return default
    text = (el.text or "").strip()
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise InvalidValue(f"{name} must be {lo}..{hi}", info=[("bad-element", name)])
    return int(text)


def _sub(parent: etree._Element, name: str, text: str | None) -> None:
    if text is not None:
        etree.SubElement(parent, qn(HVD, name)).text = text


def get_commit_history_op(ctx: OpContext, op: etree._Element) -> Reply:
    _schema, dss = tx.components(ctx.server)
    offset = _int(op, "offset", 0, 0, 2**32 - 1)
    limit = _int(op, "limit", 20, 1, 1000)
    out = []
    for rec in dss.history.list(offset, limit):
        c = etree.Element(qn(HVD, "commit"), nsmap=default_ns(HVD))
        _sub(c, "id", str(rec.id))
        _sub(c, "time", rec.time)
        _sub(c, "user", rec.meta.user)
        _sub(c, "session-id", str(rec.meta.session_id or 0))
        _sub(c, "transport", rec.meta.transport)
        _sub(c, "comment", rec.meta.comment or None)
        _sub(c, "source", rec.meta.source)
        for ch in rec.changes:
            row = etree.SubElement(c, qn(HVD, "changes"))
            _sub(row, "kind", ch.key[0])
            _sub(row, "name", ch.key[1])
            _sub(row, "operation", ch.op)
        out.append(c)
    return out


def _side(dss: Datastores, text: str, cand: Datastores | PrivateCandidate
          ) -> tuple[Callable[[Key], Any], set[Key]]:
    """A lookup for one side of a compare and the keys where it may differ from running."""
    if text == "running":
        return dss.running.get, set()
    if text == "candidate":
        return cand.candidate.get, set(cand.dirty_keys)
    if not text.isdigit() or int(text) < 1:
        raise InvalidValue(f"{text!r} is not running, candidate or a commit id",
                           info=[("bad-element", "source")])
    changes = dss.history.revert_changes(int(text))

    def get(key: Key) -> Any:
        return changes[key] if key in changes else dss.running.get(key)

    return get, set(changes)


def compare_op(ctx: OpContext, op: etree._Element) -> Reply:
    _schema, dss = tx.components(ctx.server)
    src = op.find(qn(HVD, "source"))
    dst = op.find(qn(HVD, "target"))
    cand = tx.candidate_of(ctx.server, ctx.session)
    old_get, old_keys = _side(dss, (src.text or "").strip() if src is not None else "running",
                              cand)
    new_get, new_keys = _side(dss, (dst.text or "").strip() if dst is not None else "candidate",
                              cand)
    keys = sorted(old_keys | new_keys)
    pairs = changed_entries(keys, old_get, new_get, dss.running.root, dss.running.root)
    nacm, info = ctx.server.nacm, ctx.session
    if nacm.applies(info):  # show only what the user may read (/nacm is default-deny-all)
        root = dss.running.root
        pairs = changed_entries(list(pairs), lambda k: nacm.readable_copy(info, pairs[k][0], root),
                                lambda k: nacm.readable_copy(info, pairs[k][1], root), root, root)
    text = etree.Element(qn(HVD, "text"), nsmap=default_ns(HVD))
    text.text = unified_diff(pairs)
    return [text, patch(pairs, HVD)]


def rollback_op(ctx: OpContext, op: etree._Element) -> Reply:
    server = ctx.server
    schema, dss = tx.components(server)
    rec_id = _int(op, "id", 0, 1, 2**32 - 1)
    if op.find(qn(HVD, "id")) is None:
        raise InvalidValue("id is mandatory", info=[("bad-element", "id")])
    commit_el = op.find(qn(HVD, "commit"))
    do_commit = commit_el is not None and (commit_el.text or "").strip() in ("true", "1")
    comment = (op.findtext(qn(HVD, "comment")) or "").strip()
    cand = tx.candidate_of(server, ctx.session)
    if cand is dss or do_commit:
        server.locks.check_writable("candidate", ctx.session.id)
        tx.refuse_private(server, ctx.session, "rollback with commit")
    changes = dss.history.revert_changes(rec_id)
    undone = changed_entries(list(changes), dss.running.get, changes.get, dss.running.root,
                             dss.running.root)
    server.nacm.authorize_write(ctx.session, undone.values(), dss.running.root)
    if cand is not dss:  # into the session's private candidate
        cand.discard_candidate()
        for key, el in changes.items():
            cand.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
        cand.mark_dirty(list(changes))
        return None
    if do_commit:
        server.locks.check_writable("running", ctx.session.id)
    dss.discard_candidate()
    for key, el in changes.items():
        dss.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
    dss.mark_dirty(list(changes), tx.editor(ctx.session))
    if not do_commit:
        dss.save_candidate()
        return None
    keys = sorted(changes)
    errors = tx.validate_scope(schema, dss.candidate, keys)
    if errors:
        dss.discard_candidate()
        raise RpcErrors(errors)
    pairs = changed_entries(keys, dss.running.get, dss.candidate.get, dss.running.root,
                            dss.candidate.root)
    try:
        rec = tx.committer(server).write(ctx.session, {k: p[1] for k, p in pairs.items()},
                                         dss.candidate.root, "rollback", comment,
                                         from_candidate=True)
    except BaseException:
        dss.discard_candidate()
        raise
    out = etree.Element(qn(HVD, "commit-id"), nsmap=default_ns(HVD))
    out.text = str(rec)
    return out
