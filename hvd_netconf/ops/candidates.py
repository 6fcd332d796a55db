"""The candidate a session edits: who changed what in the shared one, as operational state
(/hvd-system:candidate), and a private one per session (hvd-system:private-candidate).

A shell or client about to commit the shared candidate reads the state to see the changes it
did not make; commit itself refuses them without <force/> (ops.transactions.check_foreign).
A private candidate (hvd_netconf.store.private) takes the session's edit-config, get-config,
validate, compare, preview-commit, discard-changes and commit on <candidate> from then on,
until the session ends.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from hvd_netconf.calls import Reply, SessionInfo
from hvd_netconf.namespaces import HVD, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.state import child, leaf


def candidate_state(server: ServerView, data: etree._Element) -> None:
    dss = server.datastores
    if dss is None:
        return
    top = child(data, HVD, "candidate")
    for (kind, name), editors in dss.changes_by_editor().items():
        change = etree.SubElement(top, qn(HVD, "change"))
        leaf(change, "kind", kind)
        leaf(change, "name", name)
        for ed in editors:
            entry = etree.SubElement(change, qn(HVD, "editor"))
            leaf(entry, "session-id", str(ed.session_id))
            leaf(entry, "user", ed.user)


def private_candidate(ctx: OpContext, op: etree._Element) -> Reply:
    """Give the session a private candidate, a copy of running now (kept if it has one)."""
    _schema, dss = tx.components(ctx.server)
    dss.open_private(ctx.session.id)
    return None


def session_ended(server: ServerView) -> Callable[[SessionInfo, str, int | None], None]:
    """The hook that drops a session's private candidate with the session."""

    def ended(info: SessionInfo, reason: str, killed_by: int | None) -> None:
        dss = server.datastores
        if dss is not None:
            dss.privates.pop(info.id, None)

    return ended
