"""Read-side test support: attach schema, datastores and the bus; seed running/candidate."""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf.daemon import wire_components
from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.server import Server


def _entry(ns: str, tag: str, name: str, leaves: dict[str, str]) -> etree._Element:
    el = etree.Element(f"{{{ns}}}{tag}", nsmap={None: ns})
    etree.SubElement(el, f"{{{ns}}}name").text = name
    for leaf, value in leaves.items():
        etree.SubElement(el, f"{{{ns}}}{leaf.replace('_', '-')}").text = value
    return el


def vm_entry(name: str, **leaves: str) -> etree._Element:
    return _entry(VM, "vm", name, leaves)


def network_entry(name: str, **leaves: str) -> etree._Element:
    return _entry(NETWORK, "network", name, leaves)


def attach_read_side(server: Server) -> None:
    """The daemon's own wiring (schema, datastores, notification bus and the rest)."""
    wire_components(server)


def seed(server: Server) -> None:
    """Three VMs and a network in running and candidate; the candidate also has VM `new`."""
    entries = {
        ("vm", "web"): vm_entry("web", cpu="2", memory="1024"),
        ("vm", "db"): vm_entry("db", cpu="4", memory="4096", description="x"),
        ("vm", "idle"): vm_entry("idle", cpu="1"),
        ("network", "lan"): network_entry("lan", mtu="9000"),
    }
    for key, entry in entries.items():
        server.datastores.running.set_entry(key, entry)
        server.datastores.candidate.set_entry(key, copy.deepcopy(entry))
    server.datastores.candidate.set_entry(("vm", "new"), vm_entry("new"))


def attach_seeded(server: Server) -> None:
    attach_read_side(server)
    seed(server)
