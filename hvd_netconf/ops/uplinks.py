"""The networks' uplinks watched: a NIC that loses its link, is unplugged or comes back is told
as an `uplink-change` notification (hvd-network.yang), and one back after being absent is added
to its bridge again, with the network's MTU, as hvd put it there (ifconfig(8), if_bridge(4):
a detached interface leaves the bridge, and a new one joins none; docs/freebsd-facts.md §20).

A pass runs `ifconfig <uplink>` for each network that has one, every INTERVAL seconds; the
first pass only learns the states. A VLAN network's VLAN interface, which its parent's
departure left in its bridge without a parent (vlan(4)), gets its parent and tag again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from lxml import etree

from hvd_netconf.errors import OperationFailed
from hvd_netconf.host import ifconfig, specs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.netd import Netd, join_bridge
from hvd_netconf.namespaces import NETWORK, default_ns, qn
from hvd_netconf.operational import uplink_state
from hvd_netconf.ops.periodic import Periodic
from hvd_netconf.store import Datastores

log = logging.getLogger(__name__)

INTERVAL = 2.0  # seconds between two passes
Publish = Callable[[etree._Element], None]


class UplinkWatch(Periodic[list[tuple[str, str, str]]]):
    """_look returns the (network, previous, state) that changed."""

    interval = INTERVAL
    name = "uplink-watch"

    def __init__(self, host: Host, datastores: Datastores, publish: Publish,
                 netd: Netd | None = None) -> None:
        super().__init__()
        self.host = host
        self.netd = netd  # the uplink rejoins its bridge through it (docs/networking.md)
        self.datastores = datastores
        self.publish = publish
        self.last: dict[str, tuple[str, str]] = {}  # network -> (uplink, state)

    def _look(self) -> list[tuple[str, str, str]]:
        nets = self.datastores.running.root.find(qn(NETWORK, "networks"))
        now: dict[str, tuple[str, str, specs.NetworkSpec]] = {}
        for el in nets if nets is not None else ():
            net = specs.read_network(el)
            if net.physical_interface is not None:
                now[net.name] = (net.physical_interface,
                                 uplink_state(self.host, net.physical_interface), net)
        changed = []
        for name, (uplink, state, net) in now.items():
            before = self.last.get(name)
            if before is None or before[0] != uplink or before[1] == state:
                continue
            if before[1] == "absent":
                self._rejoin(net, uplink)
            changed.append((name, before[1], state))
            self.publish(_event(name, uplink, state, before[1]))
        self.last = {name: (uplink, state) for name, (uplink, state, _) in now.items()}
        return changed

    def _rejoin(self, net: specs.NetworkSpec, uplink: str) -> None:
        """The NIC is back: into its bridge again, with the network's MTU (a bridge takes
        members of its own MTU only). A VLAN network's VLAN interface stayed, in its bridge,
        without a parent (vlan(4): the parent's departure unconfigures its VLANs): it gets
        its parent and tag again; made anew if someone destroyed it meanwhile."""
        if net.vlan:
            self._revlan(net, uplink)
            return
        try:
            if net.mtu:
                self.host.run(ifconfig.set_mtu(uplink, net.mtu))
            join_bridge(self.host, self.netd, net.bridge, uplink)
            log.info("network %s: uplink %s is back in bridge %s", net.name, uplink,
                     net.bridge)
        except (CommandFailed, OperationFailed) as e:
            log.warning("network %s: uplink %s is back, but not in its bridge: %s",
                        net.name, uplink, e)


    def _revlan(self, net: specs.NetworkSpec, uplink: str) -> None:
        vlan, tag = net.member, net.vlan
        assert vlan is not None and tag is not None  # a VLAN network with an uplink
        try:
            try:
                self.host.run(ifconfig.show(vlan))
            except CommandFailed:  # gone: made as the network's commit makes it
                self.host.run(ifconfig.vlan_create(uplink, tag))
                join_bridge(self.host, self.netd, net.bridge, vlan)
            else:
                self.host.run(ifconfig.vlan_reparent(vlan, uplink, tag))
            if net.mtu:
                self.host.run(ifconfig.set_mtu(vlan, net.mtu))
            log.info("network %s: VLAN %s is on %s again", net.name, vlan, uplink)
        except (CommandFailed, OperationFailed) as e:
            log.warning("network %s: uplink %s is back, but VLAN %s is not on it: %s",
                        net.name, uplink, vlan, e)


def _event(network: str, uplink: str, state: str, previous: str) -> etree._Element:
    ev = etree.Element(qn(NETWORK, "uplink-change"), nsmap=default_ns(NETWORK))
    for key, value in (("network", network), ("interface", uplink), ("state", state),
                       ("previous", previous)):
        etree.SubElement(ev, qn(NETWORK, key)).text = value
    return ev
