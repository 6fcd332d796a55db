"""Issue 17 item 12: the VMs and networks (ordered-by system lists) read in the same order
before and after a restart, and the candidate in the same order as running: name order,
however the entries were created (one per commit, several in one edit, out of order)."""

from __future__ import annotations

from e2e.conftest import ChildHvd
from e2e.helpers import N, config, network_xml, vm_xml
from lxml import etree
from ncclient import manager

from hvd_netconf.namespaces import NETWORK, VM


def _order(m: manager.Manager, source: str) -> tuple[list[str], list[str]]:
    """(vm names, network names) in the order get-config of `source` returns them."""
    data = etree.fromstring(m.get_config(source).xml.encode()).find("nc:data", N)
    assert data is not None
    return ([e.findtext(f"{{{VM}}}name") or "" for e in data.iter(f"{{{VM}}}vm")],
            [e.findtext(f"{{{NETWORK}}}name") or "" for e in data.iter(f"{{{NETWORK}}}network")])


def test_entries_keep_name_order_across_commits_edits_and_restarts(
        child_hvd: ChildHvd) -> None:
    child_hvd.start()
    m = child_hvd.connect()
    for name in ("b", "a", "c"):  # one commit each, out of order
        m.edit_config(config(vms=vm_xml(name)), target="candidate")
        m.commit()
    assert _order(m, "running") == (["a", "b", "c"], [])
    # Several in one edit, out of order, among the existing ones.
    m.edit_config(config(vms=vm_xml("bb") + vm_xml("0") + vm_xml("d") + vm_xml("ab"),
                         networks=network_xml("lan2") + network_xml("dmz") + network_xml("lan")),
                  target="candidate")
    m.commit()
    want = (["0", "a", "ab", "b", "bb", "c", "d"], ["dmz", "lan", "lan2"])
    assert _order(m, "running") == want
    assert _order(m, "candidate") == want
    # An uncommitted entry sorts in the candidate, and stays there across the restart.
    m.edit_config(config(vms=vm_xml("aa")), target="candidate")
    pending = (["0", "a", "aa", "ab", "b", "bb", "c", "d"], want[1])
    assert _order(m, "candidate") == pending
    child_hvd.stop()
    child_hvd.start()
    m = child_hvd.connect()
    assert _order(m, "running") == want
    assert _order(m, "candidate") == pending
    m.discard_changes()
    assert _order(m, "candidate") == want
    # After a SIGKILL too (running comes back from the entry files and the log).
    m.edit_config(config(vms=vm_xml("ba")), target="candidate")
    m.commit()
    child_hvd.kill()
    child_hvd.start()
    m = child_hvd.connect()
    after = (["0", "a", "ab", "b", "ba", "bb", "c", "d"], want[1])
    assert _order(m, "running") == after
    assert _order(m, "candidate") == after
