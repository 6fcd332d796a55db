"""Entries survive disk: every leaf, list order, escaping; the file is the contract's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.schema import load_schema
from hvd_netconf.store import CommitMeta, Datastores, serialize_entry


def test_full_vm_round_trip(open_store: Any, kit: Any, tmp_path: Path) -> None:
    ds: Datastores = open_store(schema=load_schema())
    vm = kit.full_vm("web")
    net = kit.make_net("lan", description="uplink & <vlan>", fib=2,
                       **{"physical-interface": "em0", "vlan": 100, "mtu": 9000})
    ds.commit({("network", "lan"): net, ("vm", "web"): vm}, CommitMeta(user="alice"))
    again = open_store(schema=load_schema())
    assert kit.c14n(again.running.get(("vm", "web"))) == kit.c14n(vm)
    assert kit.c14n(again.running.get(("network", "lan"))) == kit.c14n(net)
    disks = [d.findtext(f"{{{VM}}}name") for d in again.running.get(("vm", "web"))
             .iterfind(f"{{{VM}}}disk")]
    assert disks == ["boot", "data"]
    text = (tmp_path / "hv" / "vm" / "web" / "config.xml").read_bytes()
    assert text.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<vms xmlns=\"urn:hvd:vm\">\n"
                           b"  <vm>\n    <name>web</name>\n")
    assert b"web &lt;front&gt; &amp; \"edge\" \xe2\x80\x94 \xc3\xbc" in text
    netfile = tmp_path / "hv" / "networks" / "lan" / "config.xml"
    root = etree.fromstring(netfile.read_bytes())
    assert root.tag == f"{{{NETWORK}}}networks" and len(root) == 1
    # The in-memory tree carries no layout whitespace, whatever the file had.
    assert again.running.get(("vm", "web")).text is None


def test_serialization_is_stable_and_drops_foreign_declarations(kit: Any) -> None:
    vm = kit.make_vm("a", cpu=2)
    parent = etree.Element("{urn:ietf:params:xml:ns:netconf:base:1.0}config",
                           nsmap={"nc": "urn:ietf:params:xml:ns:netconf:base:1.0",
                                  None: VM})
    parent.append(vm)
    data = serialize_entry(("vm", "a"), vm)
    assert b"netconf:base" not in data
    assert data == serialize_entry(("vm", "a"), etree.fromstring(data)[0])


def test_leaf_whitespace_is_data(open_store: Any, kit: Any) -> None:
    ds = open_store()
    ds.commit({("vm", "a"): kit.make_vm("a", description="  two  spaces  ")}, CommitMeta())
    again = open_store()
    assert again.running.get(("vm", "a")).findtext(f"{{{VM}}}description") == \
        "  two  spaces  "


def test_delete_removes_file_and_empty_directory(open_store: Any, kit: Any,
                                                  tmp_path: Path) -> None:
    ds = open_store()
    ds.commit({("vm", "a"): kit.make_vm("a"), ("vm", "b"): kit.make_vm("b")}, CommitMeta())
    (tmp_path / "hv" / "vm" / "b" / "disks").mkdir()
    ds.commit({("vm", "a"): None, ("vm", "b"): None}, CommitMeta())
    assert not (tmp_path / "hv" / "vm" / "a").exists()
    # A directory still holding something else (a dataset's disks/) stays, without config.
    assert sorted(p.name for p in (tmp_path / "hv" / "vm" / "b").iterdir()) == ["disks"]
    assert open_store().running.keys() == []
