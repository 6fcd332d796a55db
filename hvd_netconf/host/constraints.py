"""What FreeBSD would refuse or misread in a configuration, found before any host command runs.

The YANG model checks what does not depend on the host; this module checks the rest against
the host's limits (net.fibs, hw.ncpu, the uplinks' MTUs) and against how bhyve and grub-bhyve read
their arguments. Each finding is an RpcError with the error-path of the offending leaf, in the
operator's words. Host limits are read once per check, through the Host backend
(docs/freebsd-facts.md §1, §2.3, §3.3, §12).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue, RpcError
from hvd_netconf.host import ifconfig, names, specs, sysctl, zfs
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


def _refuse(message: str, path: str) -> RpcError:
    return InvalidValue(message, path=path, app_tag=APP_TAG)


def _vm_path(vm: str, *rest: str) -> str:
    return f"/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{vm}']" + "".join(f"/hvd-vm:{r}" for r in rest)


def _net_path(net: str, leaf: str) -> str:
    return f"/hvd-net:networks/hvd-net:network[hvd-net:name='{net}']/hvd-net:{leaf}"


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
    before = {d.name: d for d in old.disks} if old is not None else {}
    for d in vm.disks:
        o = before.get(d.name)
        if o is None or zfs.size_bytes(d.size) <= zfs.size_bytes(o.size):
            continue  # zfs create rounds a new volume up; only a grown one must be a multiple
        block = d.volblocksize or DEFAULT_VOLBLOCKSIZE
        if zfs.size_bytes(d.size) % zfs.size_bytes(block):
            which = f"volblocksize {block}" if d.volblocksize else \
                f"pool default volblocksize (up to {block})"
            out.append(_refuse(
                f"disk {d.name} of VM {vm.name} cannot grow to {d.size}: ZFS sets a volume's "
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
    out: list[RpcError] = []
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


def _all_networks(root: etree._Element, base: etree._Element | None, keys: list[Key],
                  new: Lookup, memo: specs.Memo) -> list[specs.NetworkSpec]:
    """Every network of the new configuration: root's, and base's that the change keeps."""
    els = {**_network_els(base), **_network_els(root)}
    for kind, name in keys:
        if kind == "network" and new((kind, name)) is None:
            els.pop(name, None)
    return [memo.network(el) for el in els.values()]


def check(host: Host | None, root: etree._Element, keys: Iterable[Key] | None,
          new: Lookup, old: Lookup, base: etree._Element | None = None,
          memo: specs.Memo | None = None) -> list[RpcError]:
    """Every refusal for the entries `keys` of the configuration `root` (None: all of them).
    `new` finds an entry in root, `old` the same entry in running (for a grown disk); when root
    holds only the changed entries, base (running) holds the rest. memo: the commit's specs,
    shared with its plan."""
    memo = memo or specs.Memo()
    if keys is None:
        keys = [("vm", el.findtext(f"{{{VM}}}name") or "")
                for el in root.iterfind(f"{{{VM}}}vms/{{{VM}}}vm")]
        keys += [("network", name) for name in _network_els(root)]
    keys = list(keys)
    limits = Limits(host)
    networks: list[specs.NetworkSpec] | None = None
    out: list[RpcError] = []
    for kind, name in keys:
        el = new((kind, name))
        if el is None:
            continue
        if kind == "vm":
            before: Any = old((kind, name))
            out += check_vm(memo.vm(el), memo.vm(before) if before is not None else None,
                            limits)
        elif kind == "network":
            if networks is None:
                networks = _all_networks(root, base, keys, new, memo)
            before = old((kind, name))
            out += check_network(memo.network(el),
                                 memo.network(before) if before is not None else None,
                                 networks, limits)
    return out
