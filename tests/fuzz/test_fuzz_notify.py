"""netconf-config-change written as text and parsed must be the tree the node-by-node builder
made: same elements, text, namespace declarations and serialization, for any target text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from hvd_netconf.namespaces import NC_NOTIFICATIONS, PREFIXES, qn
from hvd_netconf.notify import events


def reference(who: events.ChangedBy, datastore: str,
              edits: list[tuple[str, str]]) -> etree._Element:
    """The builder as it was: one SubElement per node, the nsmap found per target."""
    ev = etree.Element(qn(NC_NOTIFICATIONS, "netconf-config-change"),
                       nsmap={None: NC_NOTIFICATIONS})
    events._changed_by(ev, who)
    etree.SubElement(ev, qn(NC_NOTIFICATIONS, "datastore")).text = datastore
    for target, operation in edits:
        if operation not in events.EDIT_OPERATIONS:
            raise ValueError(operation)
        edit = etree.SubElement(ev, qn(NC_NOTIFICATIONS, "edit"))
        used = set(re.findall(r"([A-Za-z_][\w.-]*):(?=[A-Za-z_])", target))
        nsmap = {p: PREFIXES[p] for p in sorted(used) if p in PREFIXES}
        tgt = etree.SubElement(edit, qn(NC_NOTIFICATIONS, "target"), nsmap=nsmap)
        tgt.text = target
        etree.SubElement(edit, qn(NC_NOTIFICATIONS, "operation")).text = operation
    return ev


PIECES = [*PREFIXES, "x", "vm", "name", ":", "/", "[", "]", "=", "'", '"', "&", "<", ">", "\r",
          "\n", "\t", "é", "\x01", "_a", "a.b", "-"]
target = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=3)), max_size=12).map(
    "".join)
who = st.one_of(st.just(events.SERVER),
                st.builds(events.ChangedBy, st.text(max_size=5), st.integers(0, 9),
                          st.one_of(st.none(), st.just("10.0.0.1"))))


def outcome(fn, *args):  # type: ignore[no-untyped-def]
    try:
        return etree.tostring(fn(*args))
    except ValueError:
        return ValueError


@given(who, st.sampled_from(["running", "startup", "candidate"]),
       st.lists(st.tuples(target, st.sampled_from([*events.EDIT_OPERATIONS, "modify"])),
                max_size=4))
def test_config_change_is_the_node_by_node_tree(who, datastore, edits) -> None:  # type: ignore[no-untyped-def]
    if datastore == "candidate":
        with pytest.raises(ValueError):
            events.config_change(who, datastore, edits)
        return
    assert outcome(events.config_change, who, datastore, edits) == \
        outcome(reference, who, datastore, edits)
