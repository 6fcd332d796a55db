"""The candidate a session edits: who changed what in the shared one, as operational state
(/hvd-system:candidate), and a private one per session (hvd-system:private-candidate).

A shell or client about to commit the shared candidate reads the state to see the changes it
did not make; commit itself refuses them without <force/> (ops.transactions.check_foreign).
After a crash cut a commit short, its changes are set aside in a file, not left in the candidate
for the next commit to take unseen (set_aside_interrupted). A private candidate
(hvd_netconf.store.private) takes the session's edit-config, get-config,
validate, compare, preview-commit, discard-changes and commit on <candidate> from then on,
until the session ends.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Callable

from lxml import etree

from hvd_netconf.calls import Reply, SessionInfo
from hvd_netconf.edit.changes import images_root
from hvd_netconf.keys import kind_of
from hvd_netconf.namespaces import BASE, HVD, default_ns, qn
from hvd_netconf.ops import transactions as tx
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.state import child, leaf
from hvd_netconf.store import Datastores, atomic_write

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted-commit-"  # + UTC time + .xml, under ROOT/.hvd


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


def set_aside_interrupted(dss: Datastores) -> str | None:
    """At start, after a crash cut a commit short (running and the host are restored by
    then): the candidate, which still holds that commit's changes, goes to a file under the
    state directory as an edit-config <config> (deletions as operation="delete"), and the
    candidate is reset to running, so that the next commit, maybe someone else's, does not
    apply it unseen. Returns the file (None: the candidate held nothing)."""
    keys = sorted(dss.dirty_keys)
    if not keys:
        return None
    root = images_root(dss.candidate.get(k) for k in keys)
    for key in keys:
        if dss.candidate.get(key) is None and dss.running.get(key) is not None:
            kind = kind_of(key)
            gone = etree.Element(kind.entry_tag, nsmap={"nc": BASE})
            gone.set(qn(BASE, "operation"), "delete")
            if kind.singleton:
                root.append(gone)
                continue
            etree.SubElement(gone, kind.name_tag).text = key[1]
            container = root.find(kind.container_tag)
            if container is None:
                container = etree.SubElement(root, kind.container_tag)
            container.append(gone)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = os.path.join(dss.state_dir, f"{INTERRUPTED}{stamp}.xml")
    atomic_write(path, etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                 fsync=dss.fsync)
    dss.discard_candidate()
    log.warning("a commit was cut short by a crash: running and the host are as before it; "
                "its changes (%d entries) are set aside in %s, and the candidate is reset to "
                "running", len(keys), path)
    return path


def interrupted_files(dss: Datastores) -> list[str]:
    """The set-aside changes of interrupted commits still on disk, oldest first."""
    return sorted(glob.glob(os.path.join(glob.escape(dss.state_dir), INTERRUPTED + "*.xml")))


def interrupted_state(server: ServerView, data: etree._Element) -> None:
    """/hvd-system:host/interrupted-commit: `hv show host` points at the set-aside files."""
    dss = server.datastores
    if dss is None:
        return
    files = interrupted_files(dss)
    if files:
        host = child(data, HVD, "host")
        for path in files:
            leaf(host, "interrupted-commit", path)


def interrupted_notification(path: str) -> etree._Element:
    """hvd-system:interrupted-commit, published at the start that set the changes aside."""
    ev = etree.Element(qn(HVD, "interrupted-commit"), nsmap=default_ns(HVD))
    leaf(ev, "file", path)
    return ev
