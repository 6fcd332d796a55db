"""<edit-config> (RFC 6241 §7.2) on candidate and, with :writable-running, on running.

Validation timing follows RFC 7950 §8.3.3: an edit of running is fully validated over the
entries it touched before it is applied to the host and committed; an edit of the candidate is
checked for syntax only, the rest waits for <commit> or <validate>.
"""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf.calls import Reply
from hvd_netconf.edit import edit_config
from hvd_netconf.edit.changes import changed_entries
from hvd_netconf.edit.engine import EditResult
from hvd_netconf.errors import InvalidValue, RpcErrors
from hvd_netconf.namespaces import BASE, YANG_PATCH, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.store import gcpause

TEST_OPTIONS = ("test-then-set", "set", "test-only")


def _param(op: etree._Element, name: str, default: str, allowed: tuple[str, ...]) -> str:
    el = op.find(qn(BASE, name))
    if el is None:
        return default
    value = (el.text or "").strip()
    if value not in allowed:
        raise InvalidValue(f"{name} must be one of {', '.join(allowed)}, not {value!r}",
                           info=[("bad-element", name)])
    return value


def edit_config_op(ctx: OpContext, op: etree._Element) -> Reply:
    config = tx.config_param(op)
    with gcpause.paused(sum(len(top) for top in config)):  # its entries, about
        return _edit_config(ctx, op, config)


def _edit_config(ctx: OpContext, op: etree._Element, config: etree._Element) -> Reply:
    server = ctx.server
    target = tx.datastore_param(op, "target", ("candidate", "running"))
    default_op = _param(op, "default-operation", "merge", ("merge", "replace", "none"))
    test_option = _param(op, "test-option", "test-then-set", TEST_OPTIONS)
    error_option = _param(op, "error-option", "stop-on-error",
                          ("stop-on-error", "continue-on-error", "rollback-on-error"))
    schema, dss = tx.components(server)
    server.locks.check_writable(target, ctx.session.id)
    cand = tx.candidate_of(server, ctx.session)
    store = cand.candidate if target == "candidate" else dss.running
    res = edit_config(schema, store.root, config, default_operation=default_op,
                      error_option=error_option, lookup=store.get)
    if res.errors and not res.changed:
        raise RpcErrors(res.errors)
    guarded = server.nacm.applies(ctx.session)
    if res.scope is None and (target == "running" or guarded) and res.changed:
        # A whole-datastore edit of running: keep the old tree to diff against.
        res.undo()
        old_root = copy.deepcopy(store.root)
        res = edit_config(schema, store.root, config, default_operation=default_op,
                          error_option=error_option)
    else:
        old_root = None
    scope = res.scope
    with tx.undone_on_error(res, store, scope):
        store.reindex(scope)
        if guarded and res.changed:  # RFC 8341: any denied node fails the whole edit
            if old_root is not None:
                pairs = changed_entries(None, store.get, store.get, old_root, store.root)
            else:
                pairs = {k: (res.before.get(k), res.after(k)) for k in res.touched}
            server.nacm.authorize_write(ctx.session, pairs.values(), store.root)
        if test_option != "set" or target == "candidate":
            level = "syntax" if target == "candidate" and test_option != "test-only" else "full"
            errors = tx.validate_scope(schema, store,
                                       res.syntax_scope if level == "syntax" else scope, level)
            if errors:
                raise RpcErrors(errors)
    if test_option == "test-only":
        res.undo()
        store.reindex(scope)
        if res.errors:
            raise RpcErrors(res.errors)
        return None
    if target == "candidate":
        if res.changed:
            cand.mark_dirty(scope, tx.editor(ctx.session))
            cand.save_candidate()
    elif res.changed:
        tx.commit_running_edit(ctx, res, old_root)
    if res.errors:
        raise RpcErrors(res.errors)
    return None


def yang_patch_op(ctx: OpContext, op: etree._Element) -> Reply:
    """RESTCONF's YANG Patch (RFC 8072 §2.1), which RESTCONF dispatches as
    `<yang-patch xmlns=ietf-yang-patch><target>...</target><edit><edit-id/><config/></edit>...`:
    each edit's <config> is applied to the target in turn, so a later edit sees what an
    earlier one made (a create then a merge of the same VM, a delete inside an entry just
    created); then the whole patch is validated, checked by NACM and committed as one
    edit-config would be (one Committer.write on running). An edit that fails undoes the
    patch, and its rpc-error names it with an error-info `edit-id`. It has no YANG of its
    own and earns no capability: NACM judges it as the edit-config it stands for."""
    server = ctx.server
    server.nacm.authorize_rpc(ctx.session, BASE, "edit-config", op)
    target = tx.datastore_param(op, "target", ("candidate", "running"))
    schema, dss = tx.components(server)
    server.locks.check_writable(target, ctx.session.id)
    cand = tx.candidate_of(server, ctx.session)
    store = cand.candidate if target == "candidate" else dss.running
    old_root = copy.deepcopy(store.root)
    done: list[EditResult] = []
    try:
        for edit in op.iterchildren(qn(YANG_PATCH, "edit")):
            res = edit_config(schema, store.root, tx.config_param(edit), lookup=store.get)
            if res.errors:
                edit_id = edit.findtext(qn(YANG_PATCH, "edit-id")) or ""
                for err in res.errors:
                    err.info.append(("edit-id", edit_id))
                raise RpcErrors(res.errors)
            done.append(res)
            store.reindex(res.scope)  # the next edit looks entries up in the index
        res = EditResult.chain(done)
        if not res.changed:
            return None
        if server.nacm.applies(ctx.session):
            pairs = changed_entries(None, store.get, store.get, old_root, store.root)
            server.nacm.authorize_write(ctx.session, pairs.values(), store.root)
        level = "syntax" if target == "candidate" else "full"
        errors = tx.validate_scope(schema, store, res.scope, level)
        if errors:
            raise RpcErrors(errors)
    except BaseException:
        for earlier in reversed(done):
            earlier.undo()
        store.reindex(None)
        raise
    if target == "candidate":
        cand.mark_dirty(res.scope, tx.editor(ctx.session))
        cand.save_candidate()
    else:
        tx.commit_running_edit(ctx, res, old_root)
    return None
