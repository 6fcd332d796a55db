"""Changes -> an ordered Plan of Steps, each with its undo. Pure: nothing runs here.

Order: read-only guards first (nothing foreign inside a dataset tree being destroyed), then
network interfaces (VLANs, bridges, FIBs, MTUs, members), then datasets and
zvols, then, once everything reversible is done, the irreversible tail: running VMs being
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
from hvd_netconf.edit.diff import Change
from hvd_netconf.host import bhyve, ifconfig, names, specs, zfs
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


@dataclass(frozen=True)
class Run:
    argv: Argv


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


Action = Run | Absent | OnlyOwned | Found | Restore | StopVm


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


def _uplink_up(n: Net) -> list[Step]:
    """Create the VLAN if any, match the MTU, bring the uplink up, add it to the bridge. A
    physical uplink is not hvd's: its state is recorded first and restored by every undo."""
    if n.member is None or n.physical_interface is None:
        return []
    steps: list[Step] = []
    phys = n.physical_interface
    if n.vlan:
        steps.append(_step(f"create VLAN {n.member} for network {n.name}",
                           [_absent(n.member),
                            Run(ifconfig.vlan_create(phys, n.vlan))],
                           ifconfig.destroy(n.member)))
        steps.append(_step(f"tag VLAN {n.member} as hvd's",
                           ifconfig.tag(n.member, _vlan_descr(n))))
    if n.mtu != _default_mtu():
        mtu: list[Action] = [Run(ifconfig.set_mtu(n.member, n.mtu))]
        steps.append(_step(f"set MTU {n.mtu} on {n.member}",
                           mtu if n.vlan else [Found(phys), *mtu],
                           () if n.vlan else [Restore(phys)]))
    if not n.vlan:
        steps.append(_step(f"bring up uplink {phys}", [Found(phys), Run(ifconfig.up(phys))],
                           [Restore(phys)]))
    steps.append(_step(f"add {n.member} to bridge {n.bridge}",
                       ifconfig.bridge_addm(n.bridge, n.member),
                       ifconfig.bridge_deletem(n.bridge, n.member)))
    return steps


def _uplink_down(n: Net) -> list[Step]:
    if n.member is None or n.physical_interface is None:
        return []
    steps = [_step(f"remove {n.member} from bridge {n.bridge}",
                   ifconfig.bridge_deletem(n.bridge, n.member),
                   ifconfig.bridge_addm(n.bridge, n.member))]
    phys = n.physical_interface
    if n.vlan:
        recreate: list[Action] = [Run(ifconfig.vlan_create(phys, n.vlan)),
                                  Run(ifconfig.tag(n.member, _vlan_descr(n)))]
        if n.mtu != _default_mtu():
            recreate.append(Run(ifconfig.set_mtu(n.member, n.mtu)))
        steps.append(_step(f"destroy VLAN {n.member}", ifconfig.destroy(n.member), recreate))
    else:
        again: list[Action] = [Found(phys)]
        if n.mtu != _default_mtu():
            again.append(Run(ifconfig.set_mtu(phys, n.mtu)))
        again.append(Run(ifconfig.up(phys)))
        steps.append(_step(f"restore uplink {phys} as hvd found it", [Restore(phys, True)],
                           again))
    return steps


def _bridge_actions(n: Net) -> list[Action]:
    acts: list[Action] = [Run(ifconfig.bridge_create(n.bridge,
                                                     names.bridge_descr(n.name, n.description)))]
    if n.fib:
        acts.append(Run(ifconfig.set_fib(n.bridge, n.fib)))  # FIB before any address
    if n.mtu != _default_mtu():
        acts.append(Run(ifconfig.set_mtu(n.bridge, n.mtu)))
    return acts


def _network_create(n: Net) -> list[Step]:
    bridge, *props = _bridge_actions(n)
    steps = [_step(f"create bridge {n.bridge} for network {n.name}",
                   [_absent(n.bridge), bridge], ifconfig.destroy(n.bridge))]
    steps += [_step(f"set {a.argv[2]} {a.argv[3]} on bridge {n.bridge}", [a])  # type: ignore[union-attr]
              for a in props]
    return steps + _uplink_up(n)


def _network_delete(n: Net) -> tuple[list[Step], list[Step]]:
    """(uplink teardown, bridge destroy): the bridge goes after the VMs that used it."""
    return _uplink_down(n), [_step(f"destroy bridge {n.bridge} of network {n.name}",
                                   ifconfig.destroy(n.bridge), _bridge_actions(n))]


def _network_modify(o: Net, n: Net) -> list[Step]:
    steps: list[Step] = []
    b = n.bridge
    if o.description != n.description:
        steps.append(_step(f"set description of bridge {b}",
                           ifconfig.set_descr(b, names.bridge_descr(n.name, n.description)),
                           ifconfig.set_descr(b, names.bridge_descr(o.name, o.description))))
    if o.fib != n.fib:
        steps.append(_step(f"set FIB {n.fib} on bridge {b}", ifconfig.set_fib(b, n.fib),
                           ifconfig.set_fib(b, o.fib)))
    uplink_changed = (o.physical_interface, o.vlan) != (n.physical_interface, n.vlan)
    if uplink_changed:
        steps += _uplink_down(o)
    if o.mtu != n.mtu:
        # Members first: a bridge refuses an MTU its members do not have.
        if not uplink_changed and n.member is not None:
            steps.append(_step(f"set MTU {n.mtu} on {n.member}", ifconfig.set_mtu(n.member, n.mtu),
                               ifconfig.set_mtu(n.member, o.mtu)))
        steps.append(_step(f"set MTU {n.mtu} on bridge {b}", ifconfig.set_mtu(b, n.mtu),
                           ifconfig.set_mtu(b, o.mtu)))
    if uplink_changed:
        steps += _uplink_up(n)
    return steps


# -- VMs --------------------------------------------------------------------------------


def _owned(dataset: str) -> Step:
    """Refuse, before anything runs, to destroy a tree holding anything hvd did not create
    (an operator's dataset or snapshot under a VM's): `zfs destroy -r` would take it too."""
    return _step(f"check that hvd created everything in {dataset}", [OnlyOwned(dataset)])


def _zvol_step(parent: str, vm: str, d: Disk) -> Step:
    ds = names.disk_dataset(parent, vm, d.name)
    return _step(f"create zvol {ds} ({d.size}{'' if d.sparse else ', thick'})",
                 zfs.create_zvol(ds, d.size, sparse=d.sparse, volblocksize=d.volblocksize,
                                 compression=d.compression),
                 zfs.destroy(ds))


def _vm_create(parent: str, vm: str, disks: dict[str, Disk]) -> list[Step]:
    vmds, disks_ds = names.vm_dataset(parent, vm), names.disks_dataset(parent, vm)
    steps = [_step(f"create dataset {vmds} for VM {vm}", zfs.create_filesystem(vmds, "vm"),
                   zfs.destroy(vmds)),
             _step(f"create dataset {disks_ds}", zfs.create_filesystem(disks_ds, "disks"),
                   zfs.destroy(disks_ds))]
    return steps + [_zvol_step(parent, vm, d) for d in disks.values()]


def _disk_modify(parent: str, vm: str, o: Disk, n: Disk, refusals: list[errors.RpcError]
                 ) -> list[Step]:
    ds = names.disk_dataset(parent, vm, n.name)
    steps: list[Step] = []
    old_size, new_size = zfs.size_bytes(o.size), zfs.size_bytes(n.size)
    if new_size < old_size:
        refusals.append(errors.OperationFailed(
            f"disk {n.name} of VM {vm} cannot shrink from {o.size} to {n.size}: "
            "shrinking a zvol destroys the guest's data",
            path=_vm_path(vm, n.name, "size")))
    elif new_size > old_size:
        steps.append(_step(f"grow zvol {ds} from {o.size} to {n.size}",
                           zfs.set_volsize(ds, n.size), zfs.set_volsize(ds, o.size)))
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
    zfs_setup: list[Step] = field(default_factory=list)
    stops: list[Step] = field(default_factory=list)
    zfs_teardown: list[Step] = field(default_factory=list)
    net_teardown: list[Step] = field(default_factory=list)
    bridge_teardown: list[Step] = field(default_factory=list)

    def ordered(self) -> list[Step]:
        return (self.checks + self.net_setup + self.zfs_setup + self.stops + self.zfs_teardown
                + self.net_teardown + self.bridge_teardown)


def build_plan(changes: Iterable[Change], *, zfs_parent: str, vms: VmControl | None = None,
               after: Lookup | None = None, memo: specs.Memo | None = None) -> Plan:
    """Order the host work for a set of changes; raise the refusals before anything runs.

    after looks entries up in the configuration being committed (default: the changed entries
    only); the plan needs it for the networks of running VMs. memo: the commit's specs, when
    its checks have read them already.
    """
    memo = memo or specs.Memo()
    ph = _Phases()
    plan = Plan()
    refusals: list[errors.RpcError] = []
    changes = sorted(changes, key=lambda c: (c.kind, c.name))
    after = after or {(c.kind, c.name): c.new for c in changes}.get
    for c in changes:
        if c.kind == "network":
            if c.old is None and c.new is not None:
                ph.net_setup += _network_create(memo.network(c.new))
            elif c.new is None and c.old is not None:
                uplink, bridge = _network_delete(memo.network(c.old))
                ph.net_teardown += uplink
                ph.bridge_teardown += bridge
            elif c.old is not None and c.new is not None:
                ph.net_setup += _network_modify(memo.network(c.old),
                                                memo.network(c.new))
            continue
        if c.kind != "vm":
            raise ValueError(f"unknown change kind {c.kind!r}")
        running = vms is not None and vms.is_running(c.name)
        if c.old is None and c.new is not None:
            ph.zfs_setup += _vm_create(zfs_parent, c.name, _disks(memo, c.new))
        elif c.new is None:
            vmds = names.vm_dataset(zfs_parent, c.name)
            if running:
                ph.stops.append(_step(f"stop VM {c.name}, which is being removed",
                                      [StopVm(c.name)], None))
            ph.checks.append(_owned(vmds))
            ph.zfs_teardown.append(_step(f"destroy dataset {vmds} of VM {c.name}",
                                         zfs.destroy(vmds, recursive=True), None))
        elif c.old is not None:
            old, new = _disks(memo, c.old), _disks(memo, c.new)
            for name, d in new.items():
                if name not in old:
                    ph.zfs_setup.append(_zvol_step(zfs_parent, c.name, d))
                else:
                    ph.zfs_setup += _disk_modify(zfs_parent, c.name, old[name], d, refusals)
            for name in old:
                if name in new:
                    continue
                ds = names.disk_dataset(zfs_parent, c.name, name)
                if running:
                    refusals.append(errors.OperationFailed(
                        f"disk {name} of VM {c.name} cannot be removed while the VM runs; "
                        "stop the VM first", path=_vm_path(c.name, name)))
                ph.checks.append(_owned(ds))
                # -r: the zvol's snapshots go with it (zfs-destroy(8) refuses without), and
                # the check above has made sure they are all hvd's
                ph.zfs_teardown.append(_step(f"destroy zvol {ds}",
                                             zfs.destroy(ds, recursive=True), None))
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
