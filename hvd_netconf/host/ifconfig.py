"""ifconfig(8) argv builders: pure functions, forms from ifconfig(8) and if_bridge(4)
(docs/freebsd-facts.md §3.2).

Every interface hvd creates carries a descr and a group (hvd, or hvd-port for taps), so a
restarted hvd can find and clean up its own. FIB is set before any address
(docs/freebsd-facts.md §4).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from hvd_netconf.host.names import HVD_GROUP, PORT_GROUP, check_ifname, tap_descr, vlan_name

IFCONFIG = "ifconfig"
Argv = tuple[str, ...]
# The MTU a new tap(4) has, and the one bhyve(8)'s virtio-net shows the guest without mtu=.
ETHERNET_MTU = 1500


def bridge_create(bridge: str, descr: str) -> Argv:
    """Create, rename, tag and bring up a bridge in one command (the cloner takes only bridgeN)."""
    return (IFCONFIG, "bridge", "create", "name", check_ifname(bridge),
            "descr", descr, "group", HVD_GROUP, "up")


def bridge_addm(bridge: str, member: str) -> Argv:
    return (IFCONFIG, bridge, "addm", member)


def bridge_deletem(bridge: str, member: str) -> Argv:
    return (IFCONFIG, bridge, "deletem", member)


def bridge_port(bridge: str, member: str, flags: Mapping[str, bool]) -> Argv:
    """`ifconfig hv-lan private tap3 -sticky tap3`: each member flag on (`private`, `sticky`,
    `stp`) or off (`-private`...), in one command (ifconfig(8) bridge parameters, if_bridge(4))."""
    argv: Argv = (IFCONFIG, bridge)
    for word, on in flags.items():
        argv += (word if on else f"-{word}", member)
    return argv


def bridge_static(bridge: str, member: str, mac: str) -> Argv:
    """`ifconfig hv-lan static tap3 58:9c:fc:00:00:01`: a static address cache entry, which
    learning never moves to another port (ifconfig(8), if_bridge(4))."""
    return (IFCONFIG, bridge, "static", member, mac)


def set_descr(ifname: str, descr: str) -> Argv:
    return (IFCONFIG, ifname, "descr", descr)


def set_fib(ifname: str, fib: int) -> Argv:
    return (IFCONFIG, ifname, "fib", str(fib))


def set_mtu(ifname: str, mtu: int) -> Argv:
    return (IFCONFIG, ifname, "mtu", str(mtu))


def family(address: str) -> str:
    """The address family word ifconfig(8) takes before an address: inet or inet6."""
    return "inet6" if ":" in address else "inet"


def address_add(ifname: str, address: str) -> Argv:
    """`ifconfig bridge0 inet 10.0.0.1/24 alias`: add an address with its prefix length and
    keep the others (ifconfig(8), alias; the same with inet6)."""
    return (IFCONFIG, ifname, family(address), address, "alias")


def address_remove(ifname: str, address: str) -> Argv:
    """`ifconfig bridge0 inet 10.0.0.1/24 -alias`: remove that address only (ifconfig(8))."""
    return (IFCONFIG, ifname, family(address), address, "-alias")


def vlan_create(parent: str, tag: int) -> Argv:
    """`ifconfig vlan create vlandev em0 vlan 100 name em0.100 up`."""
    return (IFCONFIG, "vlan", "create", "vlandev", parent, "vlan", str(tag),
            "name", vlan_name(parent, tag), "up")


def vlan_reparent(name: str, parent: str, tag: int) -> Argv:
    """`ifconfig em0.100 vlan 100 vlandev em0`: a VLAN whose parent went (vlan(4) leaves it
    unconfigured) given its parent and tag again (ifconfig(8) vlan, vlandev)."""
    return (IFCONFIG, name, "vlan", str(tag), "vlandev", parent)


def tag(ifname: str, descr: str, group: str = HVD_GROUP) -> Argv:
    """Mark an interface hvd did not create by name (a VLAN) as hvd's."""
    return (IFCONFIG, ifname, "descr", descr, "group", group)


def tap_create() -> Argv:
    """`ifconfig tap create`; stdout names the new tap (tapN)."""
    return (IFCONFIG, "tap", "create")


def create(ifname: str) -> Argv:
    """`ifconfig tap7 create`: the pseudo-device with that unit (ifconfig(8) create); fails
    with `File exists` when it is there."""
    return (IFCONFIG, check_ifname(ifname), "create")


def tap_setup(tap: str, vm: str, nic: str, mtu: int | None = None) -> Argv:
    """Tag a tap with its owner and bring it up; MTU only when it is not the default."""
    argv: Argv = (IFCONFIG, tap, "descr", tap_descr(vm, nic), "group", PORT_GROUP)
    if mtu is not None and mtu != ETHERNET_MTU:
        argv += ("mtu", str(mtu))
    return (*argv, "up")


def destroy(ifname: str) -> Argv:
    return (IFCONFIG, ifname, "destroy")


def up(ifname: str) -> Argv:
    return (IFCONFIG, ifname, "up")


def show(ifname: str) -> Argv:
    """`ifconfig <if>`: fails with "does not exist" when there is no such interface; its first
    line ends in `mtu <n>` (docs/freebsd-facts.md §3.2)."""
    return (IFCONFIG, check_ifname(ifname))


@dataclass(frozen=True)
class LinkState:
    """What hvd changes on an uplink it did not create, so it can put it back."""

    up: bool
    mtu: int


_FIRST_LINE = re.compile(r"^\S+: flags=[0-9a-f]+<([^>]*)>.*\bmtu ([0-9]+)")


def parse_state(stdout: str) -> LinkState:
    """The first line of `ifconfig <if>`: `em0: flags=8843<UP,BROADCAST,...> metric 0 mtu 1500`
    (ifconfig(8))."""
    m = _FIRST_LINE.match(stdout)
    if m is None:
        raise ValueError(f"unexpected ifconfig output: {stdout.splitlines()[:1]}")
    return LinkState("UP" in m.group(1).split(","), int(m.group(2)))


def parse_link(stdout: str) -> str:
    """up or down from `ifconfig <if>` (ifconfig(8)): down when the interface is not UP or
    its `status:` line says `no carrier` (an Ethernet NIC without a link), else up; the
    interface's absence is ifconfig failing (docs/freebsd-facts.md §20)."""
    if not parse_state(stdout).up:
        return "down"
    status = re.search(r"^\s*status: (.+)$", stdout, re.M)
    return "down" if status is not None and status.group(1).strip() == "no carrier" else "up"


def capabilities(ifname: str) -> Argv:
    """`ifconfig -m <if>`: the status with the `capabilities=` line, which lists JUMBO_MTU when
    the driver takes frames above 1500 bytes (ifconfig(8) -m; docs/freebsd-facts.md §3.4)."""
    return (IFCONFIG, "-m", check_ifname(ifname))


_CAPS = re.compile(r"^\s+capabilities=[0-9a-f]+<([^>]*)>", re.MULTILINE)


def parse_capabilities(stdout: str) -> frozenset[str]:
    """The words of the `capabilities=4f507bb<RXCSUM,TXCSUM,VLAN_MTU,JUMBO_MTU,...>` line;
    empty when the interface lists none."""
    m = _CAPS.search(stdout)
    return frozenset(w for w in m.group(1).split(",") if w) if m else frozenset()


def down(ifname: str) -> Argv:
    return (IFCONFIG, ifname, "down")


def list_group(group: str = HVD_GROUP) -> Argv:
    """`ifconfig -g hvd` prints the names of the group's members, one a line."""
    return (IFCONFIG, "-g", group)


def parse_group(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.strip()]


def parse_mtu(stdout: str) -> int | None:
    """The MTU from `ifconfig <if>`'s first line (`em0: flags=8843<UP,…> metric 0 mtu 1500`)."""
    words = stdout.split("\n", 1)[0].split()
    for word, value in itertools.pairwise(words):
        if word == "mtu" and value.isdigit():
            return int(value)
    return None
