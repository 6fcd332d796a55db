"""What FreeBSD would refuse or misread in a configuration, found before any host command runs.

The YANG model checks what does not depend on the host; this module checks the rest against
the host's limits (net.fibs, hw.ncpu, the uplinks' MTUs) and against how bhyve and grub-bhyve read
their arguments. Each finding is an RpcError with the error-path of the offending leaf, in the
operator's words. Host limits are read once per check, through the Host backend
(docs/freebsd-facts.md §1, §2.3, §3.3, §12).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue, RpcError
from hvd_netconf.host import dnsmasq, ifconfig, names, pci, pf, quotas, specs, sysctl, zfs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.keys import Key
from hvd_netconf.namespaces import NETWORK, VM

Lookup = Callable[[Key], "etree._Element | None"]

# The app-tag of every refusal here: what the YANG allows but this host (or its programs) would
# not, so a client (and a differential test against yanglint) can tell the two kinds apart.
APP_TAG = "host-constraint"

# The volblocksize of a zvol created without -b: 16K on OpenZFS 2.2 (FreeBSD 14), 8K before
# (docs/freebsd-facts.md §2.3). A multiple of 16K is a multiple of both.
DEFAULT_VOLBLOCKSIZE = "16K"


class Limits:
    """The host limits one check needs, each read at most once (one commit, not one VM)."""

    def __init__(self, host: Host | None) -> None:
        self.host = host
        self._read: dict[tuple[str, ...], str | None] = {}

    def _run(self, argv: tuple[str, ...]) -> str | None:
        if self.host is None:
            return None
        if argv not in self._read:
            try:
                self._read[argv] = self.host.run(argv)
            except CommandFailed:
                self._read[argv] = None
        return self._read[argv]

    def sysctl(self, name: str) -> int | None:
        """An integer sysctl; None when the host has none (then nothing is checked)."""
        out = self._run(sysctl.read(name))
        return int(out.strip()) if out and out.strip().isdigit() else None

    def mtu(self, ifname: str) -> int | None:
        """The interface's MTU now; None when it does not exist."""
        out = self._run(ifconfig.show(ifname))
        return ifconfig.parse_mtu(out) if out else None

    def pf_nat(self) -> str | None:
        """The main ruleset's translation rules; None when pfctl cannot read them (pf not
        loaded), or without a host."""
        return self._run(pf.show_main())

    def reserved_pci(self) -> set[str] | None:
        """The bus/slot/function of the host's devices held by ppt; None without a host, or
        when pciconf cannot tell."""
        out = self._run(pci.list_devices())
        return pci.reserved(out) if out is not None else None

    def capabilities(self, ifname: str) -> frozenset[str] | None:
        """What `ifconfig -m` lists for the interface; None when it does not exist."""
        out = self._run(ifconfig.capabilities(ifname))
        return ifconfig.parse_capabilities(out) if out else None


def _refuse(message: str, path: str) -> RpcError:
    return InvalidValue(message, path=path, app_tag=APP_TAG)


def _vm_path(vm: str, *rest: str) -> str:
    return f"/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{vm}']" + "".join(f"/hvd-vm:{r}" for r in rest)


def _net_path(net: str, leaf: str) -> str:
    return f"/hvd-net:networks/hvd-net:network[hvd-net:name='{net}']/hvd-net:{leaf}"


def _address_path(net: str, address: str) -> str:
    return _net_path(net, f"address[.='{address}']")


Iface = ipaddress.IPv4Interface | ipaddress.IPv6Interface
Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _unusable_address(a: Iface) -> str | None:
    """Why an address cannot be the host's on its prefix, or None."""
    net = a.network
    if a.ip.is_unspecified or a.ip.is_multicast or a.ip.is_loopback:
        kind = ("unspecified" if a.ip.is_unspecified else
                "multicast" if a.ip.is_multicast else "loopback")
        return f"it is a{'n' if kind[0] in 'u' else ''} {kind} address"
    if a.version == 4 and net.prefixlen <= 30 and a.ip in (net.network_address,
                                                             net.broadcast_address):
        which = "network" if a.ip == net.network_address else "broadcast"
        return (f"it is the {which} address of {net}; use an address between "
                f"{net.network_address + 1} and {net.broadcast_address - 1}")
    if a.version == 6 and net.prefixlen <= 126 and a.ip == net.network_address:
        # the Subnet-Router anycast address (RFC 4291 §2.6.1)
        return (f"it is the subnet-router anycast address of {net}; use {net.network_address + 1}"
                " or another address in the prefix")
    return None


class AddressIndex:
    """Every network's addresses, parsed once per check: by IP, and by (FIB, prefix) with the
    prefixes' first addresses sorted, so a clash is found by look-ups, not by comparing each
    network with every other (which made a check of 1,000 networks take seconds)."""

    def __init__(self, nets: Iterable[specs.NetworkSpec]) -> None:
        self.by_ip: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, list[tuple[str, str]]] = {}
        self.owners: dict[tuple[int, Net], list[str]] = {}
        spans: dict[tuple[int, int], list[tuple[int, Net]]] = {}
        for n in nets:
            for text in n.addresses:
                a = ipaddress.ip_interface(text)
                self.by_ip.setdefault(a.ip, []).append((n.name, text))
                if (n.fib, a.network) not in self.owners:
                    spans.setdefault((n.fib, a.version), []).append(
                        (int(a.network.network_address), a.network))
                self.owners.setdefault((n.fib, a.network), []).append(n.name)
        self._starts: dict[tuple[int, int], list[int]] = {}
        self._nets: dict[tuple[int, int], list[Net]] = {}
        # the prefix lengths in use: a prefix's supernets are looked up at those only
        self._lens = {key: sorted({p.prefixlen for _, p in span}) for key, span in spans.items()}
        for key, span in spans.items():
            span.sort(key=lambda s: s[0])
            self._starts[key] = [s for s, _ in span]
            self._nets[key] = [p for _, p in span]

    def overlapping(self, fib: int, prefix: Net) -> list[tuple[Net, str]]:
        """(prefix, network) of every prefix in the FIB that holds, equals or lies in this one
        (CIDR prefixes overlap only so)."""
        key = (fib, prefix.version)
        out = [(sup, name) for plen in self._lens.get(key, ()) if plen <= prefix.prefixlen
               for sup in [prefix.supernet(new_prefix=plen)]
               for name in self.owners.get((fib, sup), [])]
        starts, nets = self._starts.get(key, []), self._nets.get(key, [])
        i = bisect.bisect_left(starts, int(prefix.network_address))
        last = int(prefix.broadcast_address)
        while i < len(starts) and starts[i] <= last:
            if nets[i].prefixlen > prefix.prefixlen:  # starts inside, longer: lies inside
                out += [(nets[i], name) for name in self.owners[(fib, nets[i])]]
            i += 1
        return out


def check_addresses(net: specs.NetworkSpec, old: specs.NetworkSpec | None,
                    index: AddressIndex) -> list[RpcError]:
    """Addresses the host cannot hold, or that clash: the same address twice, or on another
    network, or a prefix that overlaps another network's in the same FIB (the connected routes
    would clash; docs/freebsd-facts.md §3.4). Only the addresses this change brings are
    blamed."""
    out: list[RpcError] = []
    before = set(old.addresses) if old is not None else set()
    mine: list[Iface] = []
    for text in net.addresses:
        a = ipaddress.ip_interface(text)
        path = _address_path(net.name, text)
        why = _unusable_address(a)
        if why:
            out.append(_refuse(f"network {net.name}: address {text} cannot be the host's: {why}",
                               path))
            continue
        twin = next((m for m in mine if m.ip == a.ip), None)
        if twin is not None:
            out.append(_refuse(f"network {net.name}: address {a.ip} is given twice "
                               f"({twin.with_prefixlen} and {text})", path))
            continue
        mine.append(a)
        if text in before:
            continue
        same = [(name, t) for name, t in index.by_ip.get(a.ip, []) if name != net.name]
        out += [_refuse(f"network {net.name}: address {a.ip} is already the host's on network "
                        f"{name} ({t})", path) for name, t in same]
        out += [_refuse(
            f"network {net.name}: prefix {a.network} overlaps {other} of network {name} in FIB "
            f"{net.fib}; their routes would clash: use another prefix or another FIB", path)
            for other, name in index.overlapping(net.fib, a.network)
            if name != net.name and name not in {n for n, _ in same}]
    return out


class Networks(list[specs.NetworkSpec]):
    """Every network of the configuration a check sees, with their addresses indexed once."""

    @functools.cached_property
    def addresses(self) -> AddressIndex:
        return AddressIndex(self)


def check_nat(net: specs.NetworkSpec, others: Sequence[specs.NetworkSpec],
               limits: Limits) -> list[RpcError]:
    """Port forwards pf would send nowhere useful, or that clash, and NAT on a host that does
    not forward IPv4 (docs/freebsd-facts.md §14)."""
    out: list[RpcError] = []
    if net.nat is None:
        return out
    if net.nat in (net.physical_interface, _member(net)):
        out.append(_refuse(
            f"network {net.name}: {net.nat} is the network's own uplink, a port of its bridge; "
            "NAT goes out through another interface (or drop the uplink)",
            _net_path(net.name, "nat")))
    nets = pf.prefixes(net)
    own = {ipaddress.ip_interface(a).ip for a in net.addresses}
    for f in net.forwards:
        path = _net_path(net.name, f"forward[hvd-net:protocol='{f.protocol}']"
                                   f"[hvd-net:host-port='{f.host_port}']/hvd-net:guest-address")
        where = f"network {net.name}: the forward of {f.protocol} port {f.host_port}"
        ip = ipaddress.IPv4Address(f.guest_address)
        inside = [p for p in nets if ip in p]
        if not inside:
            out.append(_refuse(f"{where} goes to {ip}, which is outside the network's "
                               f"prefixes ({', '.join(map(str, nets))}): no guest there can "
                               "have it", path))
        elif ip in own:
            out.append(_refuse(f"{where} goes to {ip}, the host's own address on the "
                               "network: forward to a guest", path))
        elif inside[0].prefixlen <= 30 and ip in (inside[0].network_address,
                                                  inside[0].broadcast_address):
            out.append(_refuse(f"{where} goes to {ip}, the network or broadcast address of "
                               f"{inside[0]}: forward to a guest", path))
        clash = sorted(o.name for o in others if o.name != net.name and o.nat == net.nat
                       and any((g.protocol, g.host_port) == (f.protocol, f.host_port)
                               for g in o.forwards))
        if clash:
            out.append(_refuse(f"{where} of {net.nat} is already forwarded by network "
                               f"{', '.join(clash)}", path))
    main = limits.pf_nat() if limits.host is not None else None
    if limits.host is not None and main is None:
        out.append(_refuse(
            f"network {net.name}: NAT needs pf, which is not running on this host (pfctl -s "
            "nat fails): load it (kldload pf, pf_enable=\"YES\" in /etc/rc.conf)",
            _net_path(net.name, "nat")))
    elif main is not None and (missing := pf.missing_anchors(main, bool(net.forwards))):
        out.append(_refuse(
            f"network {net.name}: pf's main ruleset does not name hvd's anchors, so pf would "
            f"never use the network's rules: add {' and '.join(missing)} to /etc/pf.conf "
            "and reload it (pfctl -f /etc/pf.conf)", _net_path(net.name, "nat")))
    if not any(o.ip_forwarding for o in (net, *others)):
        on = limits.sysctl(pf.FORWARDING)
        if on == 0:
            out.append(_refuse(
                f"network {net.name}: NAT needs IPv4 forwarding, which is off on this host "
                f"({pf.FORWARDING}=0): set ip-forwarding on the network, or "
                "gateway_enable=\"YES\" in /etc/rc.conf", _net_path(net.name, "nat")))
    return out


def _unusable_mac(mac: str) -> str | None:
    """Why bhyve's net_parsemac refuses a MAC, or None (docs/freebsd-facts.md §12)."""
    octets = [int(o, 16) for o in mac.split(":")]
    if not any(octets):
        return "the all-zero address is not a usable address"
    if octets[0] & 1:
        return "it is a multicast address (the lowest bit of the first octet is set)"
    return None


# bhyve-option: the flags hvd sets from a leaf (flag -> the leaf), and the flags taking no
# argument that it leaves to the operator (bhyve(8) of FreeBSD 14; docs/freebsd-facts.md §5.3).
OWNED_FLAGS = {
    "-A": "acpi", "-c": "cpu and cpu-topology", "-H": "yield-on-hlt", "-l": "console, com2 "
    "and loader", "-m": "memory", "-P": "exit-on-pause", "-p": "cpu-pin", "-S": "memory-wired",
    "-s": "disk, nic, install-iso and virtio-rnd", "-U": "uuid", "-u": "utc-clock",
    "-w": "ignore-unknown-msr",
}
ALLOWED_FLAGS = {
    "-C": "include guest memory in a core file",
    "-e": "exit on an access to an I/O port that is not emulated",
    "-W": "force virtio PCI devices to use MSI interrupts",
    "-x": "the guest's local APIC in x2APIC mode",
    "-Y": "no MPtable",
}


def _bhyve_option(vm: str, word: str) -> RpcError | None:
    """Why a bhyve-option word is refused, or None."""
    path = _vm_path(vm, "bhyve-option")
    if word in OWNED_FLAGS:
        return _refuse(f"bhyve-option {word} of VM {vm}: hvd sets {word} itself from "
                       f"{OWNED_FLAGS[word]}; set that instead", path=path)
    if word not in ALLOWED_FLAGS:
        return _refuse(f"bhyve-option {word} of VM {vm} is not allowed: hvd passes only "
                       f"{', '.join(sorted(ALLOWED_FLAGS, key=str.lower))}", path=path)
    return None


def check_vm(vm: specs.VmSpec, old: specs.VmSpec | None,
             limits: Limits | None = None) -> list[RpcError]:
    """A VM whose start bhyve, grub-bhyve or zfs would refuse or misread (§1, §2.3, §5.3,
    §12)."""
    out: list[RpcError] = []
    ncpu = limits.sysctl("hw.ncpu") if limits is not None and vm.pins else None
    for pin in vm.pins:
        if ncpu is not None and pin.host_cpu >= ncpu:
            out.append(_refuse(
                f"VM {vm.name}: vCPU {pin.vcpu} is pinned to host CPU {pin.host_cpu}, but this "
                f"host has {ncpu} CPUs (hw.ncpu={ncpu}, CPUs 0 to {ncpu - 1}); bhyve cannot "
                "run a vCPU there", path=_vm_path(vm.name, f"cpu-pin[hvd-vm:vcpu='{pin.vcpu}']",
                                                 "host-cpu")))
    for word in vm.bhyve_options:
        err = _bhyve_option(vm.name, word)
        if err is not None:
            out.append(err)
    for nic in vm.nics:
        why = _unusable_mac(nic.mac)
        if why:
            out.append(_refuse(
                f"NIC {nic.name} of VM {vm.name}: bhyve refuses MAC {nic.mac}: {why}; every "
                "start would fail", path=_vm_path(vm.name, f"nic[hvd-vm:name='{nic.name}']",
                                                  "mac")))
    iso = vm.install_iso
    if iso and "," in iso:
        out.append(_refuse(
            f"install ISO {iso} of VM {vm.name} has a comma: bhyve would take the text after it "
            "as a device option and open another file; rename the file",
            path=_vm_path(vm.name, "install-iso")))
    if iso and vm.loader == "grub" and any(c.isspace() for c in iso):
        out.append(_refuse(
            f"install ISO {iso} of VM {vm.name} has a blank: grub-bhyve's device.map ends a file "
            "name at the first blank; rename the file", path=_vm_path(vm.name, "install-iso")))
    new_devices = sorted(set(vm.passthru) - set(old.passthru if old is not None else ()))
    held = limits.reserved_pci() if limits is not None and new_devices else None
    for device in new_devices:
        if held is not None and device not in held:
            out.append(_refuse(
                f"VM {vm.name}: host PCI device {device} is not reserved for passthrough: "
                f"pciconf -l does not list it as pptN (pptdevs=\"{device}\" in "
                "/boot/loader.conf, then a reboot)",
                path=_vm_path(vm.name, f"passthru[hvd-vm:device='{device}']", "device")))
    asked = (vm.limit_cpu, vm.limit_memory)
    if any(v is not None for v in asked) and (old is None or asked != (
            old.limit_cpu, old.limit_memory)) and limits is not None and limits.host is not None \
            and limits.sysctl("kern.racct.enable") != 1:
        out.append(_refuse(
            f"VM {vm.name}: this host cannot enforce limits: racct is not enabled "
            "(kern.racct.enable=1 in /boot/loader.conf, then a reboot; §18)",
            path=_vm_path(vm.name, "limits")))
    before = {d.name: d for d in old.disks} if old is not None else {}
    for d in vm.disks:
        o = before.get(d.name)
        if o is None or not (d.zvol and o.zvol) \
                or zfs.size_bytes(d.volsize) <= zfs.size_bytes(o.volsize):
            continue  # zfs create rounds a new volume up; only a grown one must be a multiple
        block = d.volblocksize or DEFAULT_VOLBLOCKSIZE
        if zfs.size_bytes(d.volsize) % zfs.size_bytes(block):
            which = f"volblocksize {block}" if d.volblocksize else \
                f"pool default volblocksize (up to {block})"
            out.append(_refuse(
                f"disk {d.name} of VM {vm.name} cannot grow to {d.volsize}: ZFS sets a volume's "
                f"size only to a multiple of its {which}",
                path=_vm_path(vm.name, f"disk[hvd-vm:name='{d.name}']", "size")))
    return out


def _member(net: specs.NetworkSpec | None) -> str | None:
    """The uplink's bridge member, unchecked (NetworkSpec.member raises on a long name)."""
    if net is None or net.physical_interface is None:
        return None
    return f"{net.physical_interface}.{net.vlan}" if net.vlan else net.physical_interface


def check_network(net: specs.NetworkSpec, old: specs.NetworkSpec | None,
                  others: Sequence[specs.NetworkSpec], limits: Limits) -> list[RpcError]:
    """A network whose interfaces ifconfig would refuse (§1, §3.1, §3.3); `old` is the same
    network in running, so a conflict is blamed on the network that brings it."""
    index = others.addresses if isinstance(others, Networks) else AddressIndex(others)
    out = check_addresses(net, old, index) + check_nat(net, others, limits)
    fibs = limits.sysctl("net.fibs") if net.fib else None
    if fibs is not None and net.fib >= fibs:
        out.append(_refuse(
            f"network {net.name}: FIB {net.fib} does not exist on this host, which has "
            f"net.fibs={fibs} (FIBs 0 to {fibs - 1}); raise net.fibs in /boot/loader.conf",
            path=_net_path(net.name, "fib")))
    phys = net.physical_interface
    if phys is None:
        return out
    if net.vlan:
        vlan_if = f"{phys}.{net.vlan}"
        if len(vlan_if.encode()) > names.MAX_IFNAME:
            out.append(_refuse(
                f"network {net.name}: the VLAN interface {vlan_if} would have "
                f"{len(vlan_if.encode())} characters; FreeBSD allows at most {names.MAX_IFNAME}",
                path=_net_path(net.name, "vlan")))
            return out
    member = _member(net)
    users = sorted(o.name for o in others if o.name != net.name and _member(o) == member)
    if users and _member(old) != member:
        out.append(_refuse(
            f"network {net.name}: {member} is already the uplink of network "
            f"{', '.join(users)}; an interface can be a member of one bridge only",
            path=_net_path(net.name, "vlan" if net.vlan else "physical-interface")))
    # The uplink's MTU once this change is applied: what a network using it untagged sets it
    # to (the plan sets those first), else what it runs now.
    planned = [o.mtu for o in others if o.physical_interface == phys and not o.vlan
               and o.mtu != _default_mtu()]
    parent_mtu = planned[0] if planned else limits.mtu(phys)
    if parent_mtu is None:
        return out
    caps = limits.capabilities(phys) if net.mtu > _default_mtu() and not net.vlan else None
    if caps is not None and "JUMBO_MTU" not in caps:
        out.append(_refuse(
            f"network {net.name}: MTU {net.mtu} needs jumbo frames, but uplink {phys} cannot "
            f"carry them (ifconfig -m {phys} lists no JUMBO_MTU); every member of a bridge "
            f"runs the bridge's MTU: lower the network's mtu to {_default_mtu()}",
            path=_net_path(net.name, "mtu")))
    if net.vlan and net.mtu > parent_mtu:
        out.append(_refuse(
            f"network {net.name}: MTU {net.mtu} is above the {parent_mtu} of {phys}; a VLAN's "
            f"MTU cannot exceed its parent's: raise {phys}'s MTU first or lower the network's",
            path=_net_path(net.name, "mtu")))
    elif net.mtu == _default_mtu() and parent_mtu != net.mtu and _member(old) != member:
        # A new member at the default MTU is left as it is (hvd sets an MTU only when the
        # network asks for one), so the bridge would take the uplink's.
        out.append(_refuse(
            f"network {net.name}: uplink {phys} runs MTU {parent_mtu}, and a bridge takes its "
            f"uplink's MTU, so the network would run {parent_mtu}, not {net.mtu}: set the "
            f"network's mtu to {parent_mtu}", path=_net_path(net.name, "mtu")))
    return out


def _default_mtu() -> int:
    return int(specs.schema_node(NETWORK, "networks", "network", "mtu").default or 0)


def _network_els(root: etree._Element | None) -> dict[str, etree._Element]:
    if root is None:
        return {}
    return {el.findtext(f"{{{NETWORK}}}name") or "": el
            for el in root.iterfind(f"{{{NETWORK}}}networks/{{{NETWORK}}}network")}


def _vm_els(root: etree._Element | None) -> dict[str, etree._Element]:
    if root is None:
        return {}
    return {el.findtext(f"{{{VM}}}name") or "": el
            for el in root.iterfind(f"{{{VM}}}vms/{{{VM}}}vm")}


def kept(kind: str, root: etree._Element, base: etree._Element | None, keys: list[Key],
          new: Lookup) -> list[etree._Element]:
    """Every `kind` entry of the new configuration: root's, and base's the change keeps."""
    by_name = _network_els if kind == "network" else _vm_els
    els = {**by_name(base), **by_name(root)}
    for k, name in keys:
        if k == kind and new((k, name)) is None:
            els.pop(name, None)
    return list(els.values())


def _all_networks(root: etree._Element, base: etree._Element | None, keys: list[Key],
                  new: Lookup, memo: specs.Memo) -> Networks:
    """Every network of the new configuration: root's, and base's that the change keeps."""
    els = {**_network_els(base), **_network_els(root)}
    for kind, name in keys:
        if kind == "network" and new((kind, name)) is None:
            els.pop(name, None)
    return Networks(memo.network(el) for el in els.values())


def _device_users(root: etree._Element, base: etree._Element | None, keys: list[Key],
                  new: Lookup, memo: specs.Memo) -> dict[str, list[tuple[str, str]]]:
    """Every existing device disk of the new configuration: path -> [(vm, disk)]."""
    out: dict[str, list[tuple[str, str]]] = {}
    for el in kept("vm", root, base, keys, new):
        vm = memo.vm(el)
        for d in vm.disks:
            claim = _claim(d)
            if claim is not None:
                out.setdefault(claim, []).append((vm.name, d.name))
    return out


def _claim(d: specs.Disk) -> str | None:
    """What a disk takes for itself alone: its device or image, or its iSCSI target (whose
    session a VM's exit removes)."""
    if d.iscsi is not None:
        return f"iSCSI target {d.iscsi.target} at {d.iscsi.portal}"
    return d.existing


def check_iscsi(vm: specs.VmSpec, users: dict[str, list[tuple[str, str]]]) -> list[RpcError]:
    """An iSCSI target is one VM's: another VM's exit would remove the session under it. One
    LUN is one disk's."""
    out: list[RpcError] = []
    seen: dict[tuple[str, str, int], str] = {}
    for d in vm.disks:
        lun = d.iscsi
        if lun is None:
            continue
        path = _vm_path(vm.name, f"disk[hvd-vm:name='{d.name}']", "iscsi", "target")
        others = sorted({v for v, _ in users.get(_claim(d) or "", []) if v != vm.name})
        if others:
            out.append(_refuse(
                f"disk {d.name} of VM {vm.name}: iSCSI target {lun.target} at {lun.portal} "
                f"is already used by VM {', '.join(others)}; a target is one VM's, since "
                "the session goes when that VM stops", path=path))
        twin = seen.setdefault((lun.portal, lun.target, lun.lun), d.name)
        if twin != d.name:
            out.append(_refuse(
                f"disk {d.name} of VM {vm.name}: LUN {lun.lun} of {lun.target} is already "
                f"disk {twin}; two disks on one LUN would overwrite each other", path=path))
    return out


def check_devices(vm: specs.VmSpec, old: specs.VmSpec | None,
                  users: dict[str, list[tuple[str, str]]]) -> list[RpcError]:
    """A device or image given to two disks (of this VM or another): two guests, or one guest twice,
    would write the same blocks unaware of each other. Blamed on the disk that brings it."""
    out: list[RpcError] = check_iscsi(vm, users)
    had = {d.name: d.existing for d in old.disks} if old is not None else {}
    for d in vm.disks:
        if d.existing is None or had.get(d.name) == d.existing:
            continue
        others = [f"vm {v} disk {n}" for v, n in users.get(d.existing, [])
                  if (v, n) != (vm.name, d.name)]
        if others:
            out.append(_refuse(
                f"disk {d.name} of VM {vm.name}: {'device' if d.device else 'image'} "
                f"{d.existing} is already the disk of {', '.join(others)}; two disks on one "
                f"{'device' if d.device else 'image'} would overwrite each other",
                path=_vm_path(vm.name, f"disk[hvd-vm:name='{d.name}']",
                              "device" if d.device else "image")))
    return out


def _vnc_ports(root: etree._Element, base: etree._Element | None, keys: list[Key],
               new: Lookup) -> dict[int, list[str]]:
    """port -> the VMs whose graphics/port is set to it, in the new configuration (read raw:
    only the VMs that set one are ever more than a find)."""
    out: dict[int, list[str]] = {}
    path = f"{{{VM}}}graphics/{{{VM}}}port"
    for el in kept("vm", root, base, keys, new):
        port = el.findtext(path)
        if port and port.strip().isdigit():
            out.setdefault(int(port), []).append(el.findtext(f"{{{VM}}}name") or "")
    return out


def check_vnc(vm: specs.VmSpec, old: specs.VmSpec | None,
              users: dict[int, list[str]]) -> list[RpcError]:
    """Two VMs' VNC servers on one port: the second bhyve would fail to start."""
    g = vm.graphics
    if g is None or g.port is None or (old is not None and old.graphics is not None
                                       and old.graphics.port == g.port):
        return []
    others = sorted(n for n in users.get(g.port, []) if n != vm.name)
    if not others:
        return []
    return [_refuse(f"VM {vm.name}: VNC port {g.port} is already the graphics port of VM "
                    f"{', '.join(others)}; bhyve could not listen on it twice",
                    path=_vm_path(vm.name, "graphics", "port"))]


def _leases(root: etree._Element, base: etree._Element | None, keys: list[Key],
            new: Lookup, memo: specs.Memo) -> dict[tuple[str, str], list[str]]:
    """(network, address) -> the NICs (`vm VM nic NIC`) given it by a static lease."""
    out: dict[tuple[str, str], list[str]] = {}
    for el in kept("vm", root, base, keys, new):
        vm = memo.vm(el)
        for nic in vm.nics:
            if nic.dhcp_address:
                out.setdefault((nic.network, nic.dhcp_address), []).append(
                    f"vm {vm.name} nic {nic.name}")
    return out


def check_dhcp(net: specs.NetworkSpec, leases: dict[tuple[str, str], list[str]]
               ) -> list[RpcError]:
    """The dynamic range inside one IPv4 prefix of the network, in order, and clear of the
    network's own address there and of every static lease on the network."""
    d, gw = net.dhcp, dnsmasq.gateway(net)
    if d is None or gw is None:  # the YANG's must asks for an IPv4 address
        return []
    path = _net_path(net.name, "dhcp")
    start, end = ipaddress.IPv4Address(d.range_start), ipaddress.IPv4Address(d.range_end)
    if start not in gw.network:
        return [_refuse(f"network {net.name}: the DHCP range's start {start} is in none of "
                        "the network's IPv4 prefixes (" + ", ".join(
                            str(ipaddress.ip_interface(a).network) for a in net.addresses
                            if ":" not in a) + ")", path=path)]
    if end not in gw.network:
        return [_refuse(f"network {net.name}: the DHCP range {start}-{end} goes past "
                        f"{gw.network}, the prefix of the network's address {gw}", path=path)]
    if start > end:
        return [_refuse(f"network {net.name}: the DHCP range starts at {start}, after its end "
                        f"{end}", path=path)]
    out = []
    if start <= gw.ip <= end:
        out.append(_refuse(f"network {net.name}: the DHCP range {start}-{end} holds the "
                           f"network's own address {gw.ip}", path=path))
    for (network, address), nics in sorted(leases.items()):
        if network == net.name and start <= ipaddress.IPv4Address(address) <= end:
            out.append(_refuse(f"network {net.name}: the DHCP range {start}-{end} holds "
                               f"{address}, the static lease of {', '.join(nics)}", path=path))
    return out


def check_nic_leases(vm: specs.VmSpec, nets: Networks,
                     leases: dict[tuple[str, str], list[str]]) -> list[RpcError]:
    """A NIC's dhcp-address: on a network with DHCP, in its prefix, no one else's."""
    out: list[RpcError] = []
    by_name = {n.name: n for n in nets}
    for nic in vm.nics:
        if not nic.dhcp_address:
            continue
        path = _vm_path(vm.name, f"nic[hvd-vm:name='{nic.name}']", "dhcp-address")
        net = by_name.get(nic.network)
        gw = dnsmasq.gateway(net) if net is not None else None
        if net is None or net.dhcp is None or gw is None:
            out.append(_refuse(f"nic {nic.name} of VM {vm.name}: network {nic.network} has no "
                               "DHCP server to give it dhcp-address", path=path))
            continue
        if ipaddress.IPv4Address(nic.dhcp_address) not in gw.network or \
                ipaddress.IPv4Address(nic.dhcp_address) == gw.ip:
            out.append(_refuse(f"nic {nic.name} of VM {vm.name}: {nic.dhcp_address} is not a "
                               f"guest's address in {gw.network}, network {net.name}'s "
                               "prefix", path=path))
        others = [n for n in leases.get((nic.network, nic.dhcp_address), [])
                  if n != f"vm {vm.name} nic {nic.name}"]
        if others:
            out.append(_refuse(f"nic {nic.name} of VM {vm.name}: {nic.dhcp_address} is "
                               f"already the static lease of {', '.join(others)}", path=path))
    return out


def check(host: Host | None, root: etree._Element, keys: Iterable[Key] | None,
          new: Lookup, old: Lookup, base: etree._Element | None = None,
          memo: specs.Memo | None = None) -> list[RpcError]:
    """Every refusal for the entries `keys` of the configuration `root` (None: all of them).
    `new` finds an entry in root, `old` the same entry in running (for a grown disk); when root
    holds only the changed entries, base (running) holds the rest. memo: the commit's specs,
    shared with its plan."""
    memo = memo or specs.Memo()
    every = keys is None
    if keys is None:
        keys = [("vm", el.findtext(f"{{{VM}}}name") or "")
                for el in root.iterfind(f"{{{VM}}}vms/{{{VM}}}vm")]
        keys += [("network", name) for name in _network_els(root)]
    keys = list(keys)
    limits = Limits(host)
    networks: Networks | None = None
    devices: dict[str, list[tuple[str, str]]] | None = None
    vnc: dict[int, list[str]] | None = None
    leases: dict[tuple[str, str], list[str]] | None = None
    out: list[RpcError] = []
    for kind, name in keys:
        el = new((kind, name))
        if el is None:
            continue
        if kind == "vm":
            before: Any = old((kind, name))
            spec, was = memo.vm(el), memo.vm(before) if before is not None else None
            out += check_vm(spec, was, limits)
            if any(not d.zvol for d in spec.disks):
                if devices is None:
                    devices = _device_users(root, base, keys, new, memo)
                out += check_devices(spec, was, devices)
            if spec.graphics is not None and spec.graphics.port is not None:
                if vnc is None:
                    vnc = _vnc_ports(root, base, keys, new)
                out += check_vnc(spec, was, vnc)
            if any(n.dhcp_address for n in spec.nics):
                if networks is None:
                    networks = _all_networks(root, base, keys, new, memo)
                if leases is None:
                    leases = _leases(root, base, keys, new, memo)
                out += check_nic_leases(spec, networks, leases)
        elif kind == "network":
            if networks is None:
                networks = _all_networks(root, base, keys, new, memo)
            before = old((kind, name))
            net = memo.network(el)
            out += check_network(net, memo.network(before) if before is not None else None,
                                 networks, limits)
            if net.dhcp is not None:
                if leases is None:
                    leases = _leases(root, base, keys, new, memo)
                out += check_dhcp(net, leases)
    out += quotas.check(root, base, None if every else keys, new, memo,
                        lambda: limits.sysctl("hw.physmem"))
    return out
