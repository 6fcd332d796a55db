"""Read-side test support: attach schema, datastores and the bus; seed running/candidate."""

from __future__ import annotations

import copy

from lxml import etree

from hvd_netconf import notify
from hvd_netconf.daemon import wire_components
from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.schema import load_schema
from hvd_netconf.server import Server
from hvd_netconf.store import Datastores


def vm_entry(name: str, **leaves: str) -> etree._Element:
    vm = etree.Element(f"{{{VM}}}vm", nsmap={None: VM})
    etree.SubElement(vm, f"{{{VM}}}name").text = name
    for leaf, value in leaves.items():
        etree.SubElement(vm, f"{{{VM}}}{leaf.replace('_', '-')}").text = value
    return vm


def network_entry(name: str, **leaves: str) -> etree._Element:
    net = etree.Element(f"{{{NETWORK}}}network", nsmap={None: NETWORK})
    etree.SubElement(net, f"{{{NETWORK}}}name").text = name
    for leaf, value in leaves.items():
        etree.SubElement(net, f"{{{NETWORK}}}{leaf}").text = value
    return net


def attach_read_side(server: Server) -> None:
    """The daemon's wiring plus what the read side needs, whatever the daemon attaches yet."""
    wire_components(server)
    if server.schema is None:
        server.schema = load_schema()
    if server.datastores is None:
        server.datastores = Datastores(str(server.settings.root), server.schema, fsync=False)
    if server.notifications is None:
        notify.attach(server)


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
