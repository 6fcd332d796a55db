"""Changes -> an ordered Plan of Steps, each with its undo. Pure: nothing runs here.

Order: read-only guards first (nothing foreign inside a dataset tree being destroyed), then
networks (VLANs, bridges, FIBs, MTUs, addresses, members and their flags, pf anchors, IPv4
forwarding), then datasets and zvols, then, once everything reversible is done, the
irreversible tail: running VMs being
removed are stopped, their datasets and removed disks destroyed, and removed networks torn down
(destroys in the reverse order of creation). A refused change (shrinking a disk, changing a
fixed volblocksize, removing a disk of a running VM) raises before any step runs. A change
that alters what a running VM's start would run (bhyve.needs_restart: CPU, memory, NICs, the
MTU of a network it joins...) does not touch the VM: it applies at the next start, and the
plan lists the VM in pending_restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from lxml import etree

from hvd_netconf import errors
from hvd_netconf.config import DEFAULT_ROOT
from hvd_netconf.edit.diff import Change
from hvd_netconf.host import (
    bhyve,
    diskfile,
    ifconfig,
    names,
    netd_edits,
    pf,
    rctl,
    specs,
    sysctl,
    zfs,
)
from hvd_netconf.host.specs import Disk
from hvd_netconf.host.specs import NetworkSpec as Net
from hvd_netconf.keys import Key
from hvd_netconf.namespaces import NETWORK

Argv = tuple[str, ...]
Lookup = Callable[[Key], "etree._Element | None"]


@cache
def _default_mtu() -> int:
    """The MTU of a network that sets none (the YANG default): what an uplink is restored to."""
    return int(specs.schema_node(NETWORK, "networks", "network", "mtu").default or 0)


class VmControl(Protocol):
    """What the plan needs from the VM supervisor."""

    def is_running(self, name: str) -> bool: ...

    def running_names(self) -> list[str]: ...

    def launched(self, name: str) -> bhyve.Launch | None:
        """What the running VM was started with (None: not running)."""
        ...

    def stop(self, name: str) -> None: ...

    def bridge_taps(self) -> dict[str, list[str]]:
        """bridge -> the taps of running VMs on it (their port flags change live)."""
        ...

    def pid(self, name: str) -> int | None:
        """The running VM's bhyve pid (its rctl limits change live)."""
        ...


@dataclass(frozen=True)
class Run:
    argv: Argv
    stdin: str | None = None  # what the command reads (pf rules for `pfctl -f -`)


@dataclass(frozen=True)
class Absent:
    """A guard: probe must fail (the interface does not exist yet), or the step fails with
    message. `ifconfig bridge create name X` when X exists clones bridgeN, then fails to
    rename it and leaves it behind (docs/freebsd-facts.md §3.3), so the name is checked first."""

    probe: Argv
    message: str


@dataclass(frozen=True)
class OnlyOwned:
    """A guard: the dataset and everything under it carry hvd's own tag
    (docs/freebsd-facts.md §2.4), else the step fails naming what is foreign."""

    dataset: str


@dataclass(frozen=True)
class Found:
    """Record how an uplink (an interface hvd did not create) is before hvd first changes it:
    its MTU and whether it is up. Kept until the network lets go of it (apply/engine.py)."""

    ifname: str


@dataclass(frozen=True)
class Restore:
    """Put an uplink back as Found recorded it; `forget` drops the record (the network let go)."""

    ifname: str
    forget: bool = False


@dataclass(frozen=True)
class StopVm:
    name: str


@dataclass(frozen=True)
class Netconf:
    """A change made through netd: one edit-config of host/netd_edits.py into netd's candidate,
    then commit (host/netd.py); a refusal fails the step with netd's message."""

    config: str
    destroys: str | None = None  # the interface this change deletes (crash recovery asks)


@dataclass(frozen=True)
class DhcpServer:
    """The network's dnsmasq runs with this configuration, its static leases in it (the file
    host/dnsmasq.py writes); conf None: it does not run."""

    network: str
    conf: str | None


class DhcpControl(Protocol):
    """What the plan's DhcpServer steps need: supervisor/dhcp.py's servers."""

    def apply(self, network: str, conf: str | None) -> None: ...


# A network's DHCP server before and after a change: (network, conf or None, the same).
DhcpChange = tuple[str, str | None, str | None]

Action = Run | Absent | OnlyOwned | Found | Restore | StopVm | DhcpServer | Netconf


@dataclass(frozen=True)
class Interfaces:
    """How the plan makes bridges, members, VLANs, FIBs, descriptions and addresses: with
    ifconfig(8) argv, or through netd where hvd drives one (docs/networking.md, "netd"). What
    netd's model lacks (MTU, port flags, up/down of an uplink) is ifconfig either way."""

    netd: bool = False

    def _either(self, edit: str, argv: Argv) -> Action:
        return Netconf(edit) if self.netd else Run(argv)

    def bridge_create(self, bridge: str, descr: str) -> Action:
        return self._either(netd_edits.bridge_create(bridge, descr),
                            ifconfig.bridge_create(bridge, descr))

    def destroy(self, ifname: str) -> Action:
        return (Netconf(netd_edits.destroy(ifname), destroys=ifname) if self.netd
                else Run(ifconfig.destroy(ifname)))

    def addm(self, bridge: str, member: str) -> Action:
        return self._either(netd_edits.bridge_addm(bridge, member),
                            ifconfig.bridge_addm(bridge, member))

    def deletem(self, bridge: str, member: str) -> Action:
        return self._either(netd_edits.bridge_deletem(bridge, member),
                            ifconfig.bridge_deletem(bridge, member))

    def vlan_create(self, parent: str, tag: int, descr: str) -> list[Action]:
        """The VLAN, tagged as hvd's: one netd edit, or two ifconfig commands."""
        if self.netd:
            return [Netconf(netd_edits.vlan_create(parent, tag, descr))]
        return [Run(ifconfig.vlan_create(parent, tag)),
                Run(ifconfig.tag(names.vlan_name(parent, tag), descr))]

    def set_fib(self, ifname: str, fib: int) -> Action:
        return self._either(netd_edits.set_fib(ifname, fib), ifconfig.set_fib(ifname, fib))

    def set_descr(self, ifname: str, descr: str) -> Action:
        return self._either(netd_edits.set_descr(ifname, descr),
                            ifconfig.set_descr(ifname, descr))

    def address_add(self, ifname: str, address: str) -> Action:
        return self._either(netd_edits.address_add(ifname, address),
                            ifconfig.address_add(ifname, address))

    def address_remove(self, ifname: str, address: str) -> Action:
        return self._either(netd_edits.address_remove(ifname, address),
                            ifconfig.address_remove(ifname, address))


@dataclass(frozen=True)
class Step:
    what: str
    do: tuple[Action, ...]
    undo: tuple[Action, ...] | None  # None: irreversible (a destroy, a VM stop)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    pending_restart: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.steps)


def _step(what: str, do: Argv | Iterable[Action], undo: Argv | Iterable[Action] | None = ()
          ) -> Step:
    def actions(x: Argv | Iterable[Action]) -> tuple[Action, ...]:
        if isinstance(x, tuple) and x and isinstance(x[0], str):
            return (Run(x),)
        return tuple(x)

    return Step(what, actions(do), None if undo is None else actions(undo))


# -- reading entries ------------------------------------------------------------------


def _disks(memo: specs.Memo, el: etree._Element) -> dict[str, Disk]:
    return {d.name: d for d in memo.vm(el).disks}


def _vm_path(vm: str, disk: str | None = None, leaf: str | None = None) -> str:
    p = f"/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{vm}']"
    if disk is not None:
        p += f"/hvd-vm:disk[hvd-vm:name='{disk}']"
    return p + (f"/hvd-vm:{leaf}" if leaf else "")


def _launch_mtus(spec: specs.VmSpec, get: Lookup, memo: specs.Memo) -> dict[str, int]:
    out = {}
    for nic in spec.nics:
        net = get(("network", nic.network))
        out[nic.network] = _default_mtu() if net is None else memo.network(net).mtu
    return out


def _restart_pending(name: str, vms: VmControl, after: Lookup, memo: specs.Memo) -> bool:
    """Would the new config start this running VM differently from how it runs?"""
    running, el = vms.launched(name), after(("vm", name))
    if running is None or el is None:
        return False
    spec = memo.vm(el)
    return bhyve.needs_restart(running, spec, _launch_mtus(spec, after, memo))


# -- networks -------------------------------------------------------------------------


def _vlan_descr(n: Net) -> str:
    return f"hvd:net/{n.name}/uplink"


def _absent(ifname: str) -> Absent:
    return Absent(ifconfig.show(ifname), f"interface {ifname} already exists (hvd did not "
                  "create it under this name); rename or destroy it first")


def _uplink_up(n: Net, via: Interfaces) -> list[Step]:
    """Create the VLAN if any, match the MTU, bring the uplink up, add it to the bridge. A
    physical uplink is not hvd's: its state is recorded first and restored by every undo."""
    if n.member is None or n.physical_interface is None:
        return []
    steps: list[Step] = []
    phys = n.physical_interface
    if n.vlan:
        create, *tag = via.vlan_create(phys, n.vlan, _vlan_descr(n))
        steps.append(_step(f"create VLAN {n.member} for network {n.name}",
                           [_absent(n.member), create], [via.destroy(n.member)]))
        steps += [_step(f"tag VLAN {n.member} as hvd's", [t]) for t in tag]
    if n.mtu != _default_mtu():
        mtu: list[Action] = [Run(ifconfig.set_mtu(n.member, n.mtu))]
        steps.append(_step(f"set MTU {n.mtu} on {n.member}",
                           mtu if n.vlan else [Found(phys), *mtu],
                           () if n.vlan else [Restore(phys)]))
    if not n.vlan:
        steps.append(_step(f"bring up uplink {phys}", [Found(phys), Run(ifconfig.up(phys))],
                           [Restore(phys)]))
    steps.append(_step(f"add {n.member} to bridge {n.bridge}",
                       [via.addm(n.bridge, n.member)], [via.deletem(n.bridge, n.member)]))
    if n.spanning_tree:
        steps.append(_stp_step(n, True))
    return steps


def _stp_step(n: Net, on: bool) -> Step:
    """Spanning tree on the uplink's port: if_bridge(4) runs it per member (docs/freebsd-facts.md
    §3.5)."""
    assert n.member is not None
    return _step(f"{'enable' if on else 'disable'} spanning tree on {n.member} of bridge "
                 f"{n.bridge}", ifconfig.bridge_port(n.bridge, n.member, {"stp": on}),
                 ifconfig.bridge_port(n.bridge, n.member, {"stp": not on}))


def _uplink_down(n: Net, via: Interfaces) -> list[Step]:
    if n.member is None or n.physical_interface is None:
        return []
    # a member leaves with its flags: the undo adds it back with spanning tree as it was
    back = [via.addm(n.bridge, n.member)]
    if n.spanning_tree:
        back.append(Run(ifconfig.bridge_port(n.bridge, n.member, {"stp": True})))
    steps = [_step(f"remove {n.member} from bridge {n.bridge}",
                   [via.deletem(n.bridge, n.member)], back)]
    phys = n.physical_interface
    if n.vlan:
        recreate = via.vlan_create(phys, n.vlan, _vlan_descr(n))
        if n.mtu != _default_mtu():
            recreate.append(Run(ifconfig.set_mtu(n.member, n.mtu)))
        steps.append(_step(f"destroy VLAN {n.member}", [via.destroy(n.member)], recreate))
    else:
        again: list[Action] = [Found(phys)]
        if n.mtu != _default_mtu():
            again.append(Run(ifconfig.set_mtu(phys, n.mtu)))
        again.append(Run(ifconfig.up(phys)))
        steps.append(_step(f"restore uplink {phys} as hvd found it", [Restore(phys, True)],
                           again))
    return steps


def _bridge_actions(n: Net, via: Interfaces) -> list[tuple[str, Action]]:
    """The bridge's create, then its FIB (before any address) and MTU, each with its words."""
    acts: list[tuple[str, Action]] = [
        ("create", via.bridge_create(n.bridge, names.bridge_descr(n.name, n.description)))]
    if n.fib:
        acts.append((f"fib {n.fib}", via.set_fib(n.bridge, n.fib)))
    if n.mtu != _default_mtu():
        acts.append((f"mtu {n.mtu}", Run(ifconfig.set_mtu(n.bridge, n.mtu))))
    return acts


def _address_add(bridge: str, address: str, via: Interfaces) -> Step:
    return _step(f"add address {address} to bridge {bridge}",
                 [via.address_add(bridge, address)], [via.address_remove(bridge, address)])


def _address_remove(bridge: str, address: str, via: Interfaces) -> Step:
    return _step(f"remove address {address} from bridge {bridge}",
                 [via.address_remove(bridge, address)], [via.address_add(bridge, address)])


def _addresses_remove(bridge: str, addresses: Iterable[str], via: Interfaces) -> list[Step]:
    """Last first, so an undo adds them back in their order: the first address of a family is
    the interface's primary one (docs/freebsd-facts.md §3.4)."""
    return [_address_remove(bridge, a, via) for a in reversed(list(addresses))]


def _nat(o: Net | None, n: Net | None) -> list[Step]:
    """Load, replace or flush the network's pf anchor; the undo puts the old rules back."""
    old, new = (pf.rules(o) if o else None), (pf.rules(n) if n else None)
    net = n or o
    if old == new or net is None:
        return []
    name = net.name

    def rules(text: str | None) -> Action:
        return Run(pf.flush(name)) if text is None else Run(pf.load(name), text)

    what = (f"flush pf anchor {pf.anchor(name)} of network {name}" if new is None else
            f"load the NAT rules of network {name} into pf anchor {pf.anchor(name)}")
    return [_step(what, [rules(new)], [rules(old)])]


def _network_create(n: Net, via: Interfaces) -> list[Step]:
    (_, bridge), *props = _bridge_actions(n, via)
    steps = [_step(f"create bridge {n.bridge} for network {n.name}",
                   [_absent(n.bridge), bridge], [via.destroy(n.bridge)])]
    steps += [_step(f"set {words} on bridge {n.bridge}", [a]) for words, a in props]
    # addresses after the FIB, so their connected routes go to it (docs/freebsd-facts.md §4)
    steps += [_address_add(n.bridge, a, via) for a in n.addresses]
    return steps + _uplink_up(n, via) + _nat(None, n)


def _network_delete(n: Net, via: Interfaces) -> tuple[list[Step], list[Step]]:
    """(addresses and uplink teardown, bridge destroy): the bridge goes after the VMs that used
    it. The addresses are removed as steps of their own, so an undo puts them back on the
    bridge its own undo recreates."""
    teardown = (_nat(n, None) + _addresses_remove(n.bridge, n.addresses, via)
                + _uplink_down(n, via))
    return teardown, [_step(f"destroy bridge {n.bridge} of network {n.name}",
                            [via.destroy(n.bridge)], [a for _, a in _bridge_actions(n, via)])]


def _guest_ports(o: Net, n: Net, taps: Iterable[str]) -> list[Step]:
    """The guest port flags that changed, on the taps of running guests (ifconfig(8))."""
    old, new = o.guest_port, n.guest_port
    changed = {w: on for w, on in new.items() if old[w] != on}
    if not changed:
        return []
    words = ", ".join(w if on else f"-{w}" for w, on in changed.items())
    return [_step(f"set {words} on {tap} of bridge {n.bridge}",
                  ifconfig.bridge_port(n.bridge, tap, changed),
                  ifconfig.bridge_port(n.bridge, tap, {w: old[w] for w in changed}))
            for tap in taps]


def _network_modify(o: Net, n: Net, via: Interfaces, taps: Iterable[str] = ()) -> list[Step]:
    steps: list[Step] = _guest_ports(o, n, taps)
    b = n.bridge
    if o.description != n.description:
        steps.append(_step(f"set description of bridge {b}",
                           [via.set_descr(b, names.bridge_descr(n.name, n.description))],
                           [via.set_descr(b, names.bridge_descr(o.name, o.description))]))
    # A new FIB does not move the connected routes of addresses already there
    # (docs/freebsd-facts.md §4): every address is taken off and put back around it.
    refib = o.fib != n.fib
    steps += _addresses_remove(b, [a for a in o.addresses if refib or a not in n.addresses],
                               via)
    if refib:
        steps.append(_step(f"set FIB {n.fib} on bridge {b}", [via.set_fib(b, n.fib)],
                           [via.set_fib(b, o.fib)]))
    steps += [_address_add(b, a, via) for a in n.addresses if refib or a not in o.addresses]
    uplink_changed = (o.physical_interface, o.vlan) != (n.physical_interface, n.vlan)
    if uplink_changed:
        steps += _uplink_down(o, via)
    if o.mtu != n.mtu:
        # Members first: a bridge refuses an MTU its members do not have.
        if not uplink_changed and n.member is not None:
            steps.append(_step(f"set MTU {n.mtu} on {n.member}", ifconfig.set_mtu(n.member, n.mtu),
                               ifconfig.set_mtu(n.member, o.mtu)))
        steps.append(_step(f"set MTU {n.mtu} on bridge {b}", ifconfig.set_mtu(b, n.mtu),
                           ifconfig.set_mtu(b, o.mtu)))
    if uplink_changed:
        steps += _uplink_up(n, via)
    elif o.spanning_tree != n.spanning_tree and n.member is not None:
        steps.append(_stp_step(n, n.spanning_tree))
    return steps + _nat(o, n)


def _forwarding_on() -> Step:
    """IPv4 forwarding for NAT, turned on only when it is off; never turned off but by this
    undo (docs/freebsd-facts.md §14)."""
    return _step(f"turn on IPv4 forwarding ({pf.FORWARDING}=1)",
                 sysctl.write(pf.FORWARDING, "1"), sysctl.write(pf.FORWARDING, "0"))


# -- VMs --------------------------------------------------------------------------------


def _owned(dataset: str) -> Step:
    """Refuse, before anything runs, to destroy a tree holding anything hvd did not create
    (an operator's dataset or snapshot under a VM's): `zfs destroy -r` would take it too."""
    return _step(f"check that hvd created everything in {dataset}", [OnlyOwned(dataset)])


def _zvol_step(parent: str, vm: str, d: Disk) -> Step:
    ds = names.disk_dataset(parent, vm, d.name)
    return _step(f"create zvol {ds} ({d.volsize}{'' if d.sparse else ', thick'})",
                 zfs.create_zvol(ds, d.volsize, sparse=d.sparse, volblocksize=d.volblocksize,
                                 compression=d.compression),
                 zfs.destroy(ds))


def _file_step(root: str, vm: str, d: Disk) -> Step:
    path = names.disk_file(root, vm, d.name)
    return _step(f"create sparse file {path} ({d.volsize})", diskfile.create(path, d.volsize),
                 diskfile.remove(path))


def _new_disk(parent: str, root: str, vm: str, d: Disk) -> list[Step]:
    """What a disk hvd makes needs: a zvol, or a file in the VM's disks dataset."""
    if d.zvol:
        return [_zvol_step(parent, vm, d)]
    return [_file_step(root, vm, d)] if d.file else []


def _vm_create(parent: str, root: str, vm: str, disks: dict[str, Disk]) -> list[Step]:
    vmds, disks_ds = names.vm_dataset(parent, vm), names.disks_dataset(parent, vm)
    steps = [_step(f"create dataset {vmds} for VM {vm}", zfs.create_filesystem(vmds, "vm"),
                   zfs.destroy(vmds)),
             _step(f"create dataset {disks_ds}", zfs.create_filesystem(disks_ds, "disks"),
                   zfs.destroy(disks_ds))]
    return steps + [s for d in disks.values() for s in _new_disk(parent, root, vm, d)]


def _shrinks(vm: str, o: Disk, n: Disk, refusals: list[errors.RpcError]) -> bool:
    """A smaller size is refused: it would cut the guest's data off."""
    if zfs.size_bytes(n.volsize) >= zfs.size_bytes(o.volsize):
        return False
    refusals.append(errors.OperationFailed(
        f"disk {n.name} of VM {vm} cannot shrink from {o.volsize} to {n.volsize}: "
        f"shrinking a {n.source} destroys the guest's data", path=_vm_path(vm, n.name, "size")))
    return True


def _file_modify(root: str, vm: str, o: Disk, n: Disk, refusals: list[errors.RpcError]
                 ) -> list[Step]:
    path = names.disk_file(root, vm, n.name)
    if _shrinks(vm, o, n, refusals) or zfs.size_bytes(n.volsize) == zfs.size_bytes(o.volsize):
        return []
    return [_step(f"grow file {path} from {o.volsize} to {n.volsize}",
                  diskfile.create(path, n.volsize), diskfile.create(path, o.volsize))]


def _disk_modify(parent: str, vm: str, o: Disk, n: Disk, refusals: list[errors.RpcError]
                 ) -> list[Step]:
    ds = names.disk_dataset(parent, vm, n.name)
    steps: list[Step] = []
    old_size, new_size = zfs.size_bytes(o.volsize), zfs.size_bytes(n.volsize)
    if not _shrinks(vm, o, n, refusals) and new_size > old_size:
        steps.append(_step(f"grow zvol {ds} from {o.volsize} to {n.volsize}",
                           zfs.set_volsize(ds, n.volsize), zfs.set_volsize(ds, o.volsize)))
    if o.volblocksize != n.volblocksize:
        refusals.append(errors.OperationFailed(
            f"disk {n.name} of VM {vm}: volblocksize is fixed when the zvol is created "
            f"({o.volblocksize or 'pool default'}); remove the disk and add a new one",
            path=_vm_path(vm, n.name, "volblocksize")))
    if o.compression != n.compression:
        def comp(value: str | None) -> Argv:
            return (zfs.set_property(ds, "compression", value) if value
                    else zfs.inherit(ds, "compression"))
        steps.append(_step(f"set compression {n.compression or '(inherited)'} on {ds}",
                           comp(n.compression), comp(o.compression)))
    if o.sparse != n.sparse:
        def rsv(sparse: bool) -> Argv:
            return zfs.set_property(ds, "refreservation", "none" if sparse else "auto")
        steps.append(_step(f"make {ds} {'sparse' if n.sparse else 'thick'}",
                           rsv(n.sparse), rsv(o.sparse)))
    return steps


@dataclass
class _Phases:
    checks: list[Step] = field(default_factory=list)  # read-only guards, before any change
    net_setup: list[Step] = field(default_factory=list)
    dhcp_setup: list[Step] = field(default_factory=list)  # after the bridges and addresses
    zfs_setup: list[Step] = field(default_factory=list)
    live: list[Step] = field(default_factory=list)  # running VMs' rctl limits
    stops: list[Step] = field(default_factory=list)
    zfs_teardown: list[Step] = field(default_factory=list)
    net_teardown: list[Step] = field(default_factory=list)
    bridge_teardown: list[Step] = field(default_factory=list)
    dhcp_teardown: list[Step] = field(default_factory=list)  # before its bridge goes

    def ordered(self) -> list[Step]:
        return (self.checks + self.net_setup + self.dhcp_setup + self.zfs_setup + self.live
                + self.stops + self.zfs_teardown
                + self.dhcp_teardown + self.net_teardown + self.bridge_teardown)


_SOURCES = {"zvol": "zvol", "file": "file", "external": "device, image or LUN"}


def build_plan(changes: Iterable[Change], *, zfs_parent: str, root: str = str(DEFAULT_ROOT),
               vms: VmControl | None = None,
               after: Lookup | None = None, forwarding: Callable[[], bool] | None = None,
               memo: specs.Memo | None = None, dhcp: Iterable[DhcpChange] = (),
               via: Interfaces = Interfaces()) -> Plan:
    """Order the host work for a set of changes; raise the refusals before anything runs.

    after looks entries up in the configuration being committed (default: the changed entries
    only); the plan needs it for the networks of running VMs. forwarding tells whether the
    host forwards IPv4 now (None: taken as off); it is asked only when a changed network
    wants forwarding on. memo: the commit's specs, when its checks have read them already.
    root: where zfs_parent is mounted (file disks live below it). dhcp: the networks' DHCP
    servers that change (hook.dhcp_changes), each before and after.
    via: ifconfig or netd for the interfaces (Interfaces).
    """
    memo = memo or specs.Memo()
    ph = _Phases()
    plan = Plan()
    refusals: list[errors.RpcError] = []
    wants_forwarding = False
    changes = sorted(changes, key=lambda c: (c.kind, c.name))
    after = after or {(c.kind, c.name): c.new for c in changes}.get
    for c in changes:
        if c.kind == "network":
            if c.new is not None and memo.network(c.new).ip_forwarding:
                wants_forwarding = True
            if c.old is None and c.new is not None:
                ph.net_setup += _network_create(memo.network(c.new), via)
            elif c.new is None and c.old is not None:
                uplink, bridge = _network_delete(memo.network(c.old), via)
                ph.net_teardown += uplink
                ph.bridge_teardown += bridge
            elif c.old is not None and c.new is not None:
                new_net = memo.network(c.new)
                taps = (vms.bridge_taps() if vms is not None else {}).get(new_net.bridge, [])
                ph.net_setup += _network_modify(memo.network(c.old), new_net, via, taps)
            continue
        if c.kind != "vm":
            raise ValueError(f"unknown change kind {c.kind!r}")
        running = vms is not None and vms.is_running(c.name)
        if c.old is None and c.new is not None:
            ph.zfs_setup += _vm_create(zfs_parent, root, c.name, _disks(memo, c.new))
        elif c.new is None:
            vmds = names.vm_dataset(zfs_parent, c.name)
            if running:
                ph.stops.append(_step(f"stop VM {c.name}, which is being removed",
                                      [StopVm(c.name)], None))
            ph.checks.append(_owned(vmds))
            ph.zfs_teardown.append(_step(f"destroy dataset {vmds} of VM {c.name}",
                                         zfs.destroy(vmds, recursive=True), None))
        elif c.old is not None:
            was, now = memo.vm(c.old), memo.vm(c.new)
            pid = vms.pid(c.name) if running and vms is not None and (
                was.limit_cpu, was.limit_memory) != (now.limit_cpu, now.limit_memory) else None
            if pid is not None:  # limits change on the running process, no restart
                for what, do, undo in rctl.changes(was, now, pid):
                    ph.live.append(_step(what, [Run(a) for a in do], [Run(a) for a in undo]))
            old, new = _disks(memo, c.old), _disks(memo, c.new)
            for name, d in new.items():
                if name not in old:
                    ph.zfs_setup += _new_disk(zfs_parent, root, c.name, d)
                elif old[name].source != d.source:
                    refusals.append(errors.OperationFailed(
                        f"disk {name} of VM {c.name} cannot change from a "
                        f"{_SOURCES[old[name].source]} to a {_SOURCES[d.source]}; remove the "
                        "disk and add a new one", path=_vm_path(c.name, name)))
                elif d.zvol:
                    ph.zfs_setup += _disk_modify(zfs_parent, c.name, old[name], d, refusals)
                elif d.file:
                    ph.zfs_setup += _file_modify(root, c.name, old[name], d, refusals)
            for name in old:
                if name in new:
                    continue
                ds = names.disk_dataset(zfs_parent, c.name, name)
                if running:
                    refusals.append(errors.OperationFailed(
                        f"disk {name} of VM {c.name} cannot be removed while the VM runs; "
                        "stop the VM first", path=_vm_path(c.name, name)))
                if old[name].file:
                    path = names.disk_file(root, c.name, name)
                    ph.zfs_teardown.append(_step(f"delete file {path}", diskfile.remove(path),
                                                 None))
                    continue
                if not old[name].zvol:
                    continue  # a device, image or LUN: hvd never destroys what it did not create
                ph.checks.append(_owned(ds))
                # -r: the zvol's snapshots go with it (zfs-destroy(8) refuses without), and
                # the check above has made sure they are all hvd's
                ph.zfs_teardown.append(_step(f"destroy zvol {ds}",
                                             zfs.destroy(ds, recursive=True), None))
    if wants_forwarding and not (forwarding is not None and forwarding()):
        ph.net_setup.append(_forwarding_on())
    for net, before, later in dhcp:
        step = _step(f"{'stop' if later is None else 'run'} the DHCP server (dnsmasq) of "
                     f"network {net}", [DhcpServer(net, later)], [DhcpServer(net, before)])
        (ph.dhcp_teardown if later is None else ph.dhcp_setup).append(step)
    if vms is not None:
        # a VM's own change, or one of its networks' (an MTU), can change how it would start
        maybe = {c.name for c in changes if c.kind == "vm"}
        if any(c.kind == "network" for c in changes):
            maybe |= set(vms.running_names())
        plan.pending_restart = {n for n in maybe
                                if _restart_pending(n, vms, after, memo)}
    if len(refusals) == 1:
        raise refusals[0]
    if refusals:
        raise errors.RpcErrors(refusals)
    plan.steps = ph.ordered()
    return plan
