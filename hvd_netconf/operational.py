"""Operational state of VMs, networks and the host for <get>, and vm-state-change events.

Everything here is read from the supervisor and the host backend at request time; nothing is
stored. On the sim backend every entry says so (host-backend, network backend `sim`,
/hvd:host/simulated), so a simulated result is never mistaken for a real one.
"""

from __future__ import annotations

import platform
import time
from typing import TYPE_CHECKING, Protocol

from lxml import etree

from hvd_netconf import __version__
from hvd_netconf.host import bhyve, ifconfig, iscsi, pf, specs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.namespaces import HVD, NETWORK, VM, default_ns, qn
from hvd_netconf.state import child, leaf
from hvd_netconf.supervisor.core import ACTIVE

if TYPE_CHECKING:
    from hvd_netconf.host.backend import Host
    from hvd_netconf.host.netd import Netd
    from hvd_netconf.supervisor.core import Supervisor
    from hvd_netconf.supervisor.dhcp import DhcpServers


class VmHostView(Protocol):
    """What the VM, network and host state providers read of the server."""

    @property
    def supervisor(self) -> Supervisor | None: ...

    @property
    def dhcp(self) -> DhcpServers | None: ...

    @property
    def host(self) -> Host | None: ...

    @property
    def netd(self) -> Netd | None: ...

_VM_LEAVES = ("status", "pid", "uptime", "console", "tap", "last-exit-code",
              "last-exit-reason", "pending-restart", "running-cpu", "running-memory",
              "host-backend", "vnc")


def _put(parent: etree._Element, name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, list | tuple):
        for item in value:
            leaf(parent, name, item)
    elif isinstance(value, bool):
        leaf(parent, name, "true" if value else "false")
    else:
        leaf(parent, name, value)


def entries(data: etree._Element, ns: str, top: str, item: str) -> dict[str, etree._Element]:
    """name -> entry of the list top/item under data (a reply's or the running tree)."""
    container = data.find(qn(ns, top))
    if container is None:
        return {}
    return {el.findtext(qn(ns, "name")) or "": el for el in container.iterchildren(qn(ns, item))}


def vm_state(server: VmHostView, data: etree._Element) -> None:
    if server.supervisor is None:
        return
    vms = entries(data, VM, "vms", "vm")
    # Only the VMs the (filtered) reply holds; a guest still running after its config was
    # removed is not in the tree.
    for name, status in server.supervisor.statuses(vms).items():
        entry = vms[name]
        state = child(entry, VM, "state")
        launched = server.supervisor.launched(name)
        if launched is not None:  # what it runs with, so a client can show what waits
            cpu, memory = bhyve.launched_size(launched)
            status = {**status, "running-cpu": cpu, "running-memory": memory}
        for key in _VM_LEAVES:
            _put(state, key, status.get(key))
        if status.get("status") in ACTIVE:
            _iscsi_disks(server, entry, state)


def iscsi_sessions(host: Host) -> list[iscsi.Session]:
    """The host's iSCSI sessions now; none when iscsictl cannot tell."""
    try:
        return iscsi.parse_sessions(host.run(iscsi.list_sessions()))
    except (CommandFailed, ValueError):
        return []


def _iscsi_disks(server: VmHostView, entry: etree._Element, state: etree._Element) -> None:
    if server.host is None or entry.find(f"{qn(VM, 'disk')}/{qn(VM, 'iscsi')}") is None:
        return
    disks = specs.read_vm(entry).disks
    for d in iscsi.disk_states(disks, iscsi_sessions(server.host)):
        item = etree.SubElement(state, qn(VM, "iscsi-disk"))
        for key, value in (("disk", d.disk), ("target", d.lun.target), ("lun", d.lun.lun),
                           ("device", d.device), ("session", d.session)):
            _put(item, key, value)


def network_backend(server: VmHostView) -> str:
    """How networks are configured: netd when hvd drives one (the sim's stand-in included),
    else ifconfig, or sim for the sim's own ifconfig."""
    if server.netd is not None:
        return "netd"
    return "sim" if server.host is not None and server.host.simulated else "ifconfig"


def network_state(server: VmHostView, data: etree._Element) -> None:
    if server.host is None:
        return
    taps = server.supervisor.bridge_taps() if server.supervisor is not None else {}
    backend = network_backend(server)
    for entry in entries(data, NETWORK, "networks", "network").values():
        state = child(entry, NETWORK, "state")
        net = specs.read_network(entry)
        leaf(state, "bridge", net.bridge)
        members = [net.member] if net.member else []
        _put(state, "member", members + taps.get(net.bridge, []))
        if net.nat is not None:
            _put(state, "nat-rule", _nat_rules(server.host, net.name))
        leaf(state, "backend", backend)
        if net.dhcp is not None and server.dhcp is not None:
            _dhcp_state(server.dhcp, net.name, state)
        if net.physical_interface is not None:
            leaf(state, "uplink-state", uplink_state(server.host, net.physical_interface))


def _dhcp_state(dhcp: DhcpServers, network: str, state: etree._Element) -> None:
    """The network's dnsmasq and the leases in its lease file."""
    _put(state, "dhcp-server", dhcp.state(network))
    for lease in dhcp.leases(network):
        item = etree.SubElement(state, qn(NETWORK, "lease"))
        for key, value in (("mac", lease.mac), ("address", lease.address),
                           ("hostname", lease.hostname),
                           ("expires", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                     time.gmtime(lease.expires))
                            if lease.expires else None)):
            _put(item, key, value)


def uplink_state(host: Host, ifname: str) -> str:
    """up, down or absent: what `ifconfig <if>` says of a network's uplink now."""
    try:
        return ifconfig.parse_link(host.run(ifconfig.show(ifname)))
    except CommandFailed:
        return "absent"


def _nat_rules(host: Host, network: str) -> list[str]:
    """What pf holds in the network's anchor; nothing when pfctl cannot tell."""
    try:
        return [ln for ln in host.run(pf.show(network)).splitlines() if ln.strip()]
    except CommandFailed:
        return []


def host_state(server: VmHostView, data: etree._Element) -> None:
    if server.host is None:
        return
    host = child(data, HVD, "host")
    leaf(host, "backend", server.host.name)
    _put(host, "simulated", bool(server.host.simulated))
    leaf(host, "network-backend", network_backend(server))
    leaf(host, "hvd-version", __version__)
    leaf(host, "os", f"{platform.system()} {platform.release()}"
         + (" (simulating FreeBSD)" if server.host.simulated else ""))


def vm_state_change(name: str, old: str, new: str, reason: str,
                    exit_code: int | None) -> etree._Element:
    """The hvd-vm vm-state-change notification body."""
    ev = etree.Element(qn(VM, "vm-state-change"), nsmap=default_ns(VM))
    for key, value in (("name", name), ("old-status", old), ("new-status", new),
                       ("reason", reason), ("exit-code", exit_code)):
        if value is not None:
            etree.SubElement(ev, qn(VM, key)).text = str(value)
    return ev
