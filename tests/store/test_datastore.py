"""The in-memory datastore: O(1) lookups, stable order, in-place edits reindexed."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.namespaces import NACM, NETWORK, VM
from hvd_netconf.store import Datastore


def _names(ds: Datastore) -> list[tuple[str, str]]:
    return [(el.tag.split("}")[1], el.findtext("{*}name"))
            for c in ds.root for el in c]


def test_set_entry_keeps_order_and_containers(kit: Any) -> None:
    ds = Datastore()
    assert len(ds.root) == 0
    ds.set_entry(("network", "lan"), kit.make_net("lan"))
    for n in ("c", "a", "b"):
        ds.set_entry(("vm", n), kit.make_vm(n))
    assert [c.tag for c in ds.root] == [f"{{{VM}}}vms", f"{{{NETWORK}}}networks"]
    ds.set_entry(("vm", "a"), kit.make_vm("a", cpu=4))
    # New entries go in name order (the loader's), a replaced one keeps its place.
    assert _names(ds) == [("vm", "a"), ("vm", "b"), ("vm", "c"), ("network", "lan")]
    assert ds.get(("vm", "a")).findtext(f"{{{VM}}}cpu") == "4"
    assert ds.keys() == [("vm", "a"), ("vm", "b"), ("vm", "c"), ("network", "lan")]
    ds.set_entry(("vm", "b"), None)
    ds.set_entry(("vm", "ab"), kit.make_vm("ab"))
    ds.set_entry(("vm", "0"), kit.make_vm("0"))
    ds.set_entry(("vm", "d"), kit.make_vm("d"))
    assert _names(ds)[:5] == [("vm", "0"), ("vm", "a"), ("vm", "ab"), ("vm", "c"), ("vm", "d")]
    ds.set_entry(("vm", "ab"), None)
    ds.set_entry(("vm", "d"), None)
    ds.set_entry(("vm", "0"), None)
    ds.set_entry(("network", "lan"), None)
    assert [c.tag for c in ds.root] == [f"{{{VM}}}vms"]  # empty containers never kept
    ds.set_entry(("network", "gone"), None)
    assert ("network", "lan") not in ds and len(ds) == 2


def test_set_entry_refuses_wrong_key(kit: Any) -> None:
    with pytest.raises(InvalidValue):
        Datastore().set_entry(("vm", "a"), kit.make_vm("b"))


def test_reindex_after_in_place_edits(kit: Any) -> None:
    ds = Datastore()
    for n in ("a", "b", "c"):
        ds.set_entry(("vm", n), kit.make_vm(n))
    vms = ds.root[0]
    vms.remove(ds.get(("vm", "b")))
    vms.append(kit.make_vm("d"))
    ds.get(("vm", "a")).find(f"{{{VM}}}name").text = "a2"
    ds.reindex([("vm", "b"), ("vm", "d"), ("vm", "a"), ("vm", "a2"), ("vm", "c")])
    assert ds.get(("vm", "b")) is None and ds.get(("vm", "a")) is None
    assert ds.get(("vm", "d")) is vms[-1] and ds.get(("vm", "a2")) is vms[0]
    ds.root.remove(vms)
    ds.reindex()
    assert ds.keys() == []


def test_reindex_refuses_duplicates(kit: Any) -> None:
    root = etree.fromstring(
        b"<config xmlns='urn:ietf:params:xml:ns:netconf:base:1.0'><vms xmlns='urn:hvd:vm'>"
        b"<vm><name>a</name></vm><vm><name>a</name></vm></vms></config>")
    with pytest.raises(InvalidValue):
        Datastore(root)


def test_copy_is_deep(kit: Any) -> None:
    ds = Datastore()
    ds.set_entry(("vm", "a"), kit.make_vm("a"))
    other = ds.copy()
    assert other.get(("vm", "a")) is not ds.get(("vm", "a"))
    assert kit.snapshot(other) == kit.snapshot(ds)


def test_keys_follow_a_singleton_set_after_they_were_listed(kit: Any) -> None:
    ds = Datastore()
    ds.set_entry(("vm", "b"), kit.make_vm("b"))
    assert ds.keys() == [("vm", "b")]
    nacm = etree.fromstring(f'<nacm xmlns="{NACM}"><enable-nacm>true</enable-nacm></nacm>')
    ds.set_entry(("nacm", "nacm"), nacm)
    ds.set_entry(("vm", "a"), kit.make_vm("a"))
    assert ds.keys() == [("vm", "a"), ("vm", "b"), ("nacm", "nacm")]
    ds.set_entry(("nacm", "nacm"), None)
    assert ds.keys() == [("vm", "a"), ("vm", "b")]
