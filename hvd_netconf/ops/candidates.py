"""Who changed what in the shared candidate, as operational state (/hvd-system:candidate).

A shell or client about to commit reads it to see the changes it did not make; commit itself
refuses them without <force/> (ops.transactions.check_foreign).
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf.namespaces import HVD, qn
from hvd_netconf.ops.registry import ServerView
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
