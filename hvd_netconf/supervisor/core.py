"""The Supervisor: starts, watches, stops and re-adopts bhyve guests.

The sections cited below are those of docs/freebsd-facts.md (§7 to §10: adoption, exit,
stop, start), which sums up bhyve(8), bhyvectl(8) and vmm(4).

Each VM has an op lock that serialises its life-cycle sequences (start, exit handling,
restart); stop does not take it, so it can interrupt a start (loader phase) or a running
guest. Transitions go through one emit lock, so a VM's events reach on_event in the order they
happened. on_event runs with that lock held: it must be quick and must not call start, stop or
restart (status is fine).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from hvd_netconf.errors import DataExists, DataMissing, InUse, OperationFailed, RpcError
from hvd_netconf.host import bhyve, cloudinit, ifconfig, iscsi, names, netd_edits, rctl, specs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.netd import Netd, destroy_interface, join_bridge, leave_bridge
from hvd_netconf.namespaces import NETWORK, VM, qn
from hvd_netconf.supervisor.exits import CrashGuard, ExitKind, describe, kind
from hvd_netconf.supervisor.runstate import RunRecord, VmFiles
from hvd_netconf.supervisor.watch import AdoptedProcess, ChildProcess, GuestProcess, watch

log = logging.getLogger("hvd.supervisor")

STOPPED, STARTING, RUNNING, STOPPING, CRASHED = (
    "stopped", "starting", "running", "stopping", "crashed")
ACTIVE = frozenset({STARTING, RUNNING, STOPPING})
VM_MAX_NAMELEN = 31  # bhyve's VM_MAX_NAMELEN is 32 bytes with the NUL (§10)
TAP_TRIES = 16  # tap names tried through netd before a start gives up
FORCE = -1  # stop step: bhyvectl --force-poweroff (or SIGKILL for a loader)
STOP_STEPS = {signal.SIGTERM: "SIGTERM (the ACPI power button)",
              FORCE: "forced power-off (bhyvectl --force-poweroff; SIGKILL for a loader)",
              signal.SIGKILL: "SIGKILL"}


class _ByName(Protocol):
    def get(self, name: str | None, /) -> etree._Element | None: ...


# name -> element of the configured VMs and networks (built once per snapshot, or looked up)
_Index = tuple[_ByName, _ByName]
_Table = dict[str | None, etree._Element]
EntryLookup = Callable[[tuple[str, str]], "etree._Element | None"]


@dataclass(frozen=True)
class _Looked:
    """One kind's entries found by name in the running datastore's index: a filtered <get>
    of one VM must not cost a pass over every configured VM."""

    lookup: EntryLookup
    kind: str

    def get(self, name: str | None, /) -> etree._Element | None:
        return None if name is None else self.lookup((self.kind, name))


EventCallback = Callable[[str, str, str, str, "int | None"], None]
InstalledCallback = Callable[[str, str], None]  # (vm, the install ISO it booted)
ConfigSource = Callable[[], etree._Element]


class _Aborted(Exception):
    """A stop was asked for while the VM was starting."""


def _mtus(nets: dict[str, specs.NetworkSpec]) -> dict[str, int]:
    """network -> its MTU, what a launch gives the taps (bhyve.launch)."""
    return {name: net.mtu for name, net in nets.items()}


@dataclass(frozen=True)
class Active:
    """A running bhyve: its pid, when it started (epoch), its taps in NIC order, its launch,
    and how often the supervisor restarted the VM after an exit since hvd started."""

    pid: int
    started: float
    taps: tuple[str, ...]
    launch: bhyve.Launch
    restarts: int


def _bindable(address: str, port: int) -> bool:
    """Whether a TCP server could bind address:port now (nothing else listens there)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


@dataclass(eq=False)
class _Vm:
    name: str
    files: VmFiles
    guard: CrashGuard
    status: str = STOPPED
    proc: GuestProcess | None = None
    phase: str | None = None  # "loader" | "bhyve" while a process runs
    gen: int = 0
    taps: list[tuple[str, str]] = field(default_factory=list)
    sessions: list[tuple[str, str]] = field(default_factory=list)  # iSCSI (portal, target) added
    launch: bhyve.Launch | None = None  # what the running bhyve was started with
    started: float | None = None
    with_iso: bool = True
    # from the config it last started with
    order: int = field(default_factory=lambda: specs.vm_defaults("_").autostart_order)
    stop_requested: bool = False
    last_exit_code: int | None = None
    last_exit_reason: str | None = None
    restarts: int = 0  # the supervisor's own restarts after an exit, since hvd started
    vnc: str | None = None  # ADDRESS:PORT of the running bhyve's VNC server (graphics)
    op_lock: threading.RLock = field(default_factory=threading.RLock)


class Supervisor:
    def __init__(
        self,
        host: Host,
        root: Path,
        config: ConfigSource,
        *,
        zfs_parent: str,
        on_event: EventCallback | None = None,
        on_installed: InstalledCallback | None = None,
        firmware_dir: str | None = None,
        crash_limit: int = 3,
        crash_window: float = 60.0,
        kill_grace: float = 5.0,
        instance_wait: float = 5.0,
        poll_interval: float = 0.5,
        entry: EntryLookup | None = None,
        netd: Netd | None = None,
    ) -> None:
        """config() returns the running <config> root (or a consistent copy of it);
        entry(key), if given, finds one of its entries by key (the datastore's index).
        on_installed(vm, iso) hears that a guest rebooted after booting its install ISO and
        has a disk to boot from now on; it runs with the VM's locks held, so it must be quick.
        netd: taps join and leave their bridges through it (docs/networking.md, "netd")."""
        self.host = host
        self.netd = netd
        self.root = Path(root)
        self._config = config
        self.zfs_parent = zfs_parent
        self.on_event = on_event
        self.on_installed = on_installed
        self.firmware_dir = firmware_dir
        self.crash_limit = crash_limit
        self.crash_window = crash_window
        self.kill_grace = kill_grace
        self.instance_wait = instance_wait
        self.poll_interval = poll_interval
        self._cond = threading.Condition(threading.RLock())
        self._emit_lock = threading.RLock()
        self._closing = threading.Event()
        self._vms: dict[str, _Vm] = {}
        self._entry = entry

    # -- configuration -------------------------------------------------------------------

    def _vm_elements(self) -> list[etree._Element]:
        return self._config().findall(f"{qn(VM, 'vms')}/{qn(VM, 'vm')}")

    @staticmethod
    def _index(root: etree._Element) -> tuple[_Table, _Table]:
        """name -> element of every VM and every network: one pass over the configuration."""
        vms = {el.findtext(qn(VM, "name")): el
               for el in root.findall(f"{qn(VM, 'vms')}/{qn(VM, 'vm')}")}
        nets = {n.findtext(qn(NETWORK, "name")): n
                for n in root.findall(f"{qn(NETWORK, 'networks')}/{qn(NETWORK, 'network')}")}
        return vms, nets

    def _current(self) -> _Index:
        """The running configuration's VMs and networks by name, looked up in its index when
        the supervisor has one, else from one pass over the tree."""
        if self._entry is not None:
            return _Looked(self._entry, "vm"), _Looked(self._entry, "network")
        return self._index(self._config())

    @staticmethod
    def _configured(name: str, index: _Index) -> etree._Element:
        el = index[0].get(name)
        if el is None:
            raise DataMissing(f"no VM named {name!r} is configured")
        return el

    def _lookup(self, name: str, root: etree._Element | None = None,
                index: _Index | None = None
                ) -> tuple[specs.VmSpec, dict[str, specs.NetworkSpec]]:
        """The VM's current spec and the networks its NICs join."""
        index = index or (self._current() if root is None else self._index(root))
        nets = index[1]
        spec = specs.read_vm(self._configured(name, index))
        nets_of: dict[str, specs.NetworkSpec] = {}
        for nic in spec.nics:
            net = nets.get(nic.network)
            if net is None:
                raise OperationFailed(
                    f"VM {name}: NIC {nic.name} joins network {nic.network!r}, "
                    "which is not configured")
            nets_of[nic.network] = specs.read_network(net)
        return spec, nets_of

    def _record(self, name: str) -> _Vm:
        with self._cond:
            vm = self._vms.get(name)
            if vm is None:
                vm = _Vm(name, VmFiles(self.root, name),
                         CrashGuard(self.crash_limit, self.crash_window))
                self._vms[name] = vm
            return vm

    # -- transitions -----------------------------------------------------------------------

    def _transition(self, vm: _Vm, new: str, reason: str, code: int | None = None) -> None:
        with self._emit_lock:
            old = vm.status  # changed only here, under the emit lock
            if old != new:  # in the VM's log before anyone waiting on the change sees it
                vm.files.note(f"{old} -> {new}: {reason}")  # an exit's reason has its code
            with self._cond:
                vm.status = new
                self._cond.notify_all()
            if old == new:
                return
            log.info("VM %s: %s -> %s (%s)", vm.name, old, new, reason)
            if self.on_event is not None:
                try:
                    self.on_event(vm.name, old, new, reason, code)
                except Exception:
                    log.exception("VM %s: event callback failed", vm.name)

    def _checkpoint(self, vm: _Vm) -> None:
        with self._cond:
            if vm.stop_requested:
                raise _Aborted

    # -- host commands ---------------------------------------------------------------------

    def _run(self, argv: Sequence[str]) -> str:
        try:
            return self.host.run(argv)
        except CommandFailed as e:
            raise OperationFailed(str(e)) from e

    def _tap(self, vm: str, nic: str, mtu: int, taps: list[tuple[str, str]]) -> str:
        """A NIC's tap, tagged and up, appended to taps as soon as it exists (so a failure
        destroys it): `ifconfig tap create` and tap_setup, or through netd under a name hvd
        picks (the next unit while netd finds it taken), its MTU by ifconfig (netd has none)."""
        if self.netd is None:
            tap = self._run(ifconfig.tap_create()).strip()
            taps.append((tap, ""))
            self._run(ifconfig.tap_setup(tap, vm, nic, mtu))
            return tap
        for attempt in range(TAP_TRIES):
            tap = names.tap_name(vm, nic, attempt)
            try:
                self.netd.edit(netd_edits.tap_create(tap, vm, nic))
            except DataExists:
                continue
            taps.append((tap, ""))
            if mtu != ifconfig.ETHERNET_MTU:
                self._run(ifconfig.set_mtu(tap, mtu))
            return tap
        raise OperationFailed(f"VM {vm}: netd found the {TAP_TRIES} tap names tried for NIC "
                              f"{nic} taken (from {names.tap_name(vm, nic)})")

    def _join(self, bridge: str, tap: str) -> None:
        try:
            join_bridge(self.host, self.netd, bridge, tap)
        except CommandFailed as e:
            raise OperationFailed(str(e)) from e

    def _try(self, argv: Sequence[str]) -> None:
        """A clean-up command: its failure is logged, never raised."""
        try:
            self.host.run(argv)
        except CommandFailed as e:
            log.warning("clean-up step failed: %s", e)

    def _foreign_owner(self, name: str) -> str | None:
        """The process that holds /dev/vmm/<name> although this hvd did not start it (another
        bhyve, or one started by hand), as `pid N (command)`; None when there is none."""
        try:
            owners = bhyve.vm_owners(self.host.run(bhyve.processes()), name)
        except CommandFailed as e:
            return f"unknown (cannot list processes: {e})"
        with self._cond:
            vm = self._vms.get(name)
            ours = vm.proc.pid if vm is not None and vm.proc is not None else None
        theirs = [f"pid {pid} ({command})" for pid, command in owners if pid != ours]
        return ", ".join(theirs) or None

    def _destroy_instance(self, name: str, *, strict: bool = False) -> None:
        """Destroy a stale /dev/vmm/<name>, only when no live process holds it (§7): a bhyve
        that hvd did not start keeps its VM. strict (a start) refuses, naming the process."""
        if name not in self.host.vmm_instances():
            return
        owner = self._foreign_owner(name)
        if owner is not None:
            msg = (f"VM {name}: /dev/vmm/{name} belongs to a process hvd did not start: "
                   f"{owner}; hvd leaves it alone")
            if strict:
                raise InUse(msg, error_type="application")
            log.warning("%s", msg)
            return
        self._try(bhyve.destroy(name))

    def _cleanup(self, name: str, taps: Sequence[tuple[str, str]],
                 sessions: Sequence[tuple[str, str]] = ()) -> None:
        """After every exit (§8): destroy the instance, take the taps off their bridges, destroy
        them, and remove the iSCSI sessions the start added (docs/freebsd-facts.md §21)."""
        self._destroy_instance(name)
        for tap, bridge in taps:
            if bridge:
                try:
                    leave_bridge(self.host, self.netd, bridge, tap)
                except (CommandFailed, OperationFailed) as e:
                    log.warning("clean-up step failed: %s", e)
            try:
                destroy_interface(self.host, self.netd, tap)
            except (CommandFailed, OperationFailed) as e:
                log.warning("clean-up step failed: %s", e)
        for portal, target in sessions:
            self._try(iscsi.remove(portal, target))

    def _resolve_disks(self, spec: specs.VmSpec, sessions: list[tuple[str, str]]
                       ) -> specs.VmSpec:
        """The spec to start with: each file disk as its image's path, each iSCSI disk's LUN
        attached, as its da(4) device. The sessions this start added go into sessions, for
        the clean-up."""
        if all(d.iscsi is None and not d.file for d in spec.disks):
            return spec
        disks = []
        for d in spec.disks:
            if d.file:
                d = replace(d, image=names.disk_file(str(self.root), spec.name, d.name))
            elif d.iscsi is not None:
                path, added = iscsi.attach(self._run, spec.name, d.name, d.iscsi)
                if added:
                    sessions.append((d.iscsi.portal, d.iscsi.target))
                d = replace(d, device=path)
            disks.append(d)
        return replace(spec, disks=tuple(disks))

    # -- start -------------------------------------------------------------------------------

    def start(self, name: str) -> None:
        """Start a stopped (or crashed) VM; returns once bhyve runs. Raises on failure."""
        spec, nets = self._lookup(name)
        vm = self._record(name)
        with vm.op_lock:
            with self._emit_lock:
                with self._cond:
                    if vm.status in ACTIVE:
                        raise InUse(f"VM {name} is already {vm.status}",
                                    error_type="application")
                    vm.stop_requested = False
                    vm.with_iso = True
                    vm.guard.reset()
                self._transition(vm, STARTING, "start requested")
            self._launch_reporting(vm, spec, nets, "start", STOPPED, reraise=True)

    def _launch_reporting(self, vm: _Vm, spec: specs.VmSpec,
                          nets: dict[str, specs.NetworkSpec], what: str,
                          failed: str, *, reraise: bool) -> None:
        """Launch and report the outcome: a stop that interrupted it, or the failure."""
        try:
            self._launch(vm, spec, nets)
        except _Aborted:
            self._transition(vm, STOPPED, f"stopped while {what}ing")
        except RpcError as e:
            self._transition(vm, failed, f"{what} failed: {e.message}")
            if reraise:
                raise
        except Exception as e:  # a bug must not leave the VM `starting` for good
            log.exception("VM %s: %s failed", vm.name, what)
            self._transition(vm, failed, f"{what} failed: internal error: {e}")
            if reraise:
                raise OperationFailed(f"VM {vm.name}: {what} failed: internal error: {e}") from e

    def _validate(self, spec: specs.VmSpec) -> None:
        """§10 step 1, the checks that need the live host rather than the model."""
        if len(spec.name.encode()) > VM_MAX_NAMELEN:
            raise OperationFailed(
                f"VM name {spec.name!r} is longer than bhyve's {VM_MAX_NAMELEN} bytes")
        try:
            maxcpu = int(self.host.sysctl("hw.vmm.maxcpu"))
        except (CommandFailed, ValueError) as e:
            raise OperationFailed(f"cannot read hw.vmm.maxcpu (is vmm loaded?): {e}") from e
        if spec.cpu > maxcpu:
            raise OperationFailed(
                f"VM {spec.name}: {spec.cpu} vCPUs, but this host allows {maxcpu} "
                "(hw.vmm.maxcpu)")

    @staticmethod
    def _nothing_to_boot(spec: specs.VmSpec, with_iso: bool) -> str:
        iso = (" (the install ISO is left out after the guest's first reboot)"
               if spec.install_iso and not with_iso else "")
        return (f"VM {spec.name}: {spec.loader} has nothing to boot: the VM has no disk"
                f"{iso}; add a disk{'' if iso else ' or an install-iso'}, or use loader uefi")

    def _firmware(self, spec: specs.VmSpec) -> str:
        candidates = [self.firmware_dir] if self.firmware_dir else list(bhyve.FIRMWARE_DIRS)
        needed = [bhyve.UEFI_CODE, bhyve.UEFI_VARS] if spec.uefi_vars else [bhyve.UEFI_COMBINED]
        for d in candidates:
            if all(os.path.isfile(os.path.join(d, f)) for f in needed):
                return d
        raise OperationFailed(
            f"VM {spec.name}: UEFI firmware {', '.join(needed)} not found in "
            f"{' or '.join(candidates)} (install sysutils/bhyve-firmware)")

    def _uefi_vars(self, vm: _Vm, firmware_dir: str) -> None:
        """Copy the variable-store template once per VM, so NVRAM (boot order) persists."""
        target = vm.files.uefi_vars
        if target.exists():
            return
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(os.path.join(firmware_dir, bhyve.UEFI_VARS), tmp)
        os.replace(tmp, target)

    @staticmethod
    def _cloud_init_seed(vm: _Vm, spec: specs.VmSpec) -> None:
        """Build the NoCloud seed from the configuration this start runs with, so the guest
        reads what get-config shows; replaced whole (a rename), never half-written. A VM
        without cloud-init keeps no stale seed."""
        target = Path(cloudinit.seed_path(str(vm.files.vm_dir)))
        if spec.cloud_init is None:
            target.unlink(missing_ok=True)
            return
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(cloudinit.seed_iso(cloudinit.files(spec)))
        os.replace(tmp, target)

    def _run_loader(self, vm: _Vm, spec: specs.VmSpec, with_iso: bool) -> None:
        """bhyveload or grub-bhyve as a child, so a stop in the loader phase can kill it (§9)."""
        if spec.loader == "grub":
            vm.files.device_map.write_text(
                bhyve.grub_device_map(spec, zfs_parent=self.zfs_parent, with_iso=with_iso))
            argv = bhyve.grub_bhyve(spec, device_map=str(vm.files.device_map),
                                    with_iso=with_iso)
        else:
            argv = bhyve.bhyveload(spec, zfs_parent=self.zfs_parent, with_iso=with_iso)
        self._checkpoint(vm)
        child = ChildProcess(self.host.spawn(argv, log_path=vm.files.log))
        with self._cond:
            vm.proc, vm.phase = child, "loader"
        code = child.proc.wait()
        with self._cond:
            vm.proc, vm.phase = None, None
        self._checkpoint(vm)
        if code != 0:
            last = vm.files.last_log_line()
            tail = f": {last}" if last else ""
            raise OperationFailed(f"VM {vm.name}: {argv[0]} exited with status {code}{tail}")

    def _launch(self, vm: _Vm, spec: specs.VmSpec, nets: dict[str, specs.NetworkSpec]
                ) -> None:
        """§10 steps 2-5; on failure everything made so far is undone."""
        name = vm.name
        mtus = _mtus(nets)
        vm.files.ensure()
        vm.files.rotate_log()
        taps: list[tuple[str, str]] = []
        sessions: list[tuple[str, str]] = []
        try:
            self._validate(spec)
            with self._cond:
                with_iso = vm.with_iso
            if not bhyve.bootable(spec, with_iso=with_iso):
                raise OperationFailed(self._nothing_to_boot(spec, with_iso))
            self._destroy_instance(name, strict=True)
            for nic in spec.nics:
                self._checkpoint(vm)
                tap = self._tap(name, nic.name, mtus[nic.network], taps)
                bridge = names.bridge_name(nic.network)
                self._join(bridge, tap)
                taps[-1] = (tap, bridge)
                # port flags and the pinned MAC go with the member when it leaves (deletem)
                flags = {w: on for w, on in nets[nic.network].guest_port.items() if on}
                if flags:
                    self._run(ifconfig.bridge_port(bridge, tap, flags))
                if nic.pin_mac:
                    self._run(ifconfig.bridge_static(bridge, tap, nic.mac))
            with self._cond:
                vm.taps = list(taps)
            self._checkpoint(vm)
            resolved = self._resolve_disks(spec, sessions)
            with self._cond:
                vm.sessions = list(sessions)
            firmware = bhyve.FIRMWARE_DIRS[0]
            if spec.loader == "uefi":
                firmware = self._firmware(spec)
                if spec.uefi_vars:
                    self._uefi_vars(vm, firmware)
            else:
                self._run_loader(vm, resolved, with_iso)
            self._cloud_init_seed(vm, spec)
            graphics = spec.graphics
            argv = bhyve.bhyve(
                resolved, taps=[t for t, _ in taps], zfs_parent=self.zfs_parent,
                vm_dir=str(vm.files.vm_dir), firmware_dir=firmware,
                mtus=[mtus[n.network] for n in spec.nics], with_iso=with_iso,
                vnc_port=self._vnc_port(name, graphics.listen)
                if graphics is not None and graphics.port is None else None)
            self._checkpoint(vm)
            child = ChildProcess(self.host.spawn(argv, log_path=vm.files.log))
            try:
                self._limit(spec, child.pid, rules_now={})
            except BaseException:
                child.proc.kill()
                child.proc.wait()
                raise
        except BaseException:
            self._cleanup(name, taps, sessions)
            with self._cond:
                vm.taps, vm.sessions = [], []
            raise
        started = time.time()
        launch = bhyve.launch(spec, mtus, with_iso=with_iso)
        vm.files.save(RunRecord(child.pid, list(argv), taps, started, with_iso,
                                [list(c) for c in launch.commands], sessions))
        with self._cond:
            vm.gen += 1
            gen = vm.gen
            vm.proc, vm.phase, vm.launch, vm.started = child, "bhyve", launch, started
            vm.vnc = bhyve.vnc_address(argv)
            vm.order = spec.autostart_order
        watch(child, self._closing, lambda code: self._on_exit(vm, gen, code), name)
        self._wait_instance(name, child)
        with self._emit_lock:
            with self._cond:
                if vm.stop_requested or vm.gen != gen or vm.proc is not child:
                    return
            self._transition(vm, RUNNING, f"bhyve started (pid {child.pid})")

    def _limit(self, spec: specs.VmSpec, pid: int, rules_now: dict[str, str] | None = None
               ) -> None:
        """Put the VM's rctl rules on its bhyve process (docs/freebsd-facts.md §18): right
        after the exec, before the VM is reported running. rules_now: what the process has
        (None: ask rctl, as after a re-adoption, when the config may have changed meanwhile).
        A rule the config no longer asks for is removed."""
        wanted = rctl.rules(spec, pid)
        if rules_now is None:
            try:
                rules_now = rctl.parse_rules(self.host.run(rctl.list_rules()), pid)
            except CommandFailed as e:
                if not wanted:
                    return  # no racct, and nothing asked of it
                raise OperationFailed(str(e)) from e
        for resource in rules_now.keys() - wanted.keys():
            self._run(rctl.remove(pid, resource))
        for resource, rule in wanted.items():
            if rules_now.get(resource) != rule:
                self._run(rctl.add(rule))

    def _vnc_port(self, name: str, listen: str) -> int:
        """The lowest port from 5900 that no other running VM's VNC server has, that no VM's
        graphics/port is set to, and that nothing on the host is bound to now."""
        with self._cond:
            taken = {int(vm.vnc.rpartition(":")[2]) for other, vm in self._vms.items()
                     if other != name and vm.status in ACTIVE and vm.vnc}
        taken |= {s.graphics.port for s in self._specs()
                  if s.graphics is not None and s.graphics.port is not None}
        for port in range(bhyve.VNC_BASE, 65536):
            if port not in taken and _bindable(listen, port):
                return port
        raise OperationFailed(f"VM {name}: no free VNC port on {listen} from {bhyve.VNC_BASE}")

    def pid(self, name: str) -> int | None:
        """The pid of the VM's running bhyve (None: none runs): what its rctl rules name."""
        with self._cond:
            vm = self._vms.get(name)
            if vm is None or vm.status not in ACTIVE or vm.phase != "bhyve" or vm.proc is None:
                return None
            return vm.proc.pid

    def _wait_instance(self, name: str, child: ChildProcess) -> None:
        """bhyve creates /dev/vmm/<vm> shortly after exec (§10 step 5); wait with back-off."""
        deadline = time.monotonic() + self.instance_wait
        pause = 0.01
        while (name not in self.host.vmm_instances() and child.proc.poll() is None
               and time.monotonic() < deadline):
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    # -- exit -------------------------------------------------------------------------------

    def _on_exit(self, vm: _Vm, gen: int, code: int | None) -> None:
        """§8: clean up after every exit, then apply the VM's policy for this kind of exit."""
        with vm.op_lock:
            with self._cond:
                if gen != vm.gen or self._closing.is_set():
                    return
                taps, vm.taps = vm.taps, []
                sessions, vm.sessions = vm.sessions, []
                vm.proc = vm.phase = vm.launch = vm.started = None
            last = vm.files.last_log_line()
            reason = describe(code) + (f": {last}" if last else "")
            self._cleanup(vm.name, taps, sessions)
            vm.files.clear()
            with self._cond:
                vm.last_exit_code, vm.last_exit_reason = code, reason
            try:
                spec, nets = self._lookup(vm.name)
            except RpcError:
                spec = None
            with self._emit_lock:
                with self._cond:
                    stopping = vm.stop_requested
                what = kind(code)
                if (what is ExitKind.REBOOT and spec is not None and spec.install_iso
                        and vm.with_iso and bhyve.bootable(spec, with_iso=False)
                        and self.on_installed is not None):
                    self.on_installed(vm.name, spec.install_iso)  # the install boot is over
                if stopping or spec is None:
                    suffix = "" if stopping else "; the VM is no longer configured"
                    self._transition(vm, STOPPED, reason + suffix, code)
                    return
                action = {ExitKind.REBOOT: spec.on_reboot, ExitKind.POWEROFF: spec.on_poweroff,
                          ExitKind.CRASH: spec.on_crash, ExitKind.UNKNOWN: "stop"}[what]
                if action == "restart" and what is ExitKind.CRASH and not vm.guard.allow():
                    self._transition(
                        vm, CRASHED, f"{reason}; not restarted: {self.crash_limit} restarts "
                        f"after crashes within {self.crash_window:g} s", code)
                    return
                if action != "restart":
                    self._transition(vm, CRASHED if what is ExitKind.CRASH else STOPPED,
                                     reason, code)
                    return
                if what is ExitKind.REBOOT:
                    if not bhyve.bootable(spec, with_iso=False):
                        why = f"{reason}; not restarted: {self._nothing_to_boot(spec, False)}"
                        log.error("%s", why)
                        with self._cond:
                            vm.last_exit_reason = why
                        self._transition(vm, STOPPED, why, code)
                        return
                    with self._cond:
                        vm.with_iso = False  # the install ISO is dropped after the first reboot
                with self._cond:
                    vm.restarts += 1
                self._transition(vm, STARTING, f"{reason}; restarting", code)
            self._launch_reporting(vm, spec, nets, "restart", CRASHED, reraise=False)

    # -- stop -------------------------------------------------------------------------------

    def stop(self, name: str, force: bool = False, timeout: float | None = None) -> None:
        """§9: SIGTERM (ACPI power button), wait, force-poweroff, SIGKILL; returns when the
        VM is stopped and cleaned up. A VM that is not running is left alone."""
        with self._cond:
            vm = self._vms.get(name)
        if vm is None:
            self._lookup(name)  # DataMissing for an unknown VM
            return
        with self._emit_lock:
            with self._cond:
                if vm.status not in ACTIVE:
                    return
                vm.stop_requested = True
            self._transition(vm, STOPPING,
                             "forced power-off requested" if force else "stop requested")
        if timeout is None:
            try:
                timeout = self._lookup(name)[0].stop_timeout
            except RpcError:
                timeout = specs.vm_defaults(name).stop_timeout
        if not force and self._escalate(vm, timeout, signal.SIGTERM):
            return
        if self._escalate(vm, self.kill_grace, FORCE):
            return
        if self._escalate(vm, self.kill_grace, signal.SIGKILL):
            return
        raise OperationFailed(f"VM {name} did not stop, even after SIGKILL")

    def _escalate(self, vm: _Vm, seconds: float, step: int) -> bool:
        """Apply one stop step to whichever process the VM has (loader, then bhyve) and wait
        up to `seconds` for it to be stopped; True once it is."""
        deadline = time.monotonic() + seconds
        done: set[int] = set()
        while True:
            with self._cond:
                if vm.status not in ACTIVE:
                    return True
                proc, phase = vm.proc, vm.phase
            if proc is not None and proc.pid not in done:
                done.add(proc.pid)
                vm.files.note(f"stop: {STOP_STEPS.get(step, f'signal {step}')} to the "
                              f"{phase or 'guest'} (pid {proc.pid}), waiting up to {seconds:g} s")
                self._send(vm.name, proc, phase, step)
            with self._cond:
                remaining = deadline - time.monotonic()
                if vm.status not in ACTIVE:
                    return True
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))

    def _send(self, name: str, proc: GuestProcess, phase: str | None, step: int) -> None:
        if step != FORCE:
            log.info("VM %s: signal %d to pid %d", name, step, proc.pid)
            proc.send(step)
        elif phase == "bhyve" and name in self.host.vmm_instances():
            log.info("VM %s: bhyvectl --force-poweroff", name)
            self._try(bhyve.force_poweroff(name))
        else:
            proc.send(signal.SIGKILL)

    def restart(self, name: str) -> None:
        """Stop gracefully (when running), then start."""
        self.stop(name)
        self.start(name)

    # -- state ------------------------------------------------------------------------------

    def is_running(self, name: str) -> bool:
        with self._cond:
            vm = self._vms.get(name)
            return vm is not None and vm.status in ACTIVE

    def running_names(self) -> list[str]:
        with self._cond:
            return [n for n, vm in self._vms.items() if vm.status in ACTIVE]

    def launched(self, name: str) -> bhyve.Launch | None:
        """What the VM's bhyve was started (or adopted) with, while it runs."""
        with self._cond:
            vm = self._vms.get(name)
            return vm.launch if vm is not None and vm.status in ACTIVE else None

    def active(self) -> dict[str, Active]:
        """Each VM whose bhyve runs, as the statistics read it: no config, no status."""
        with self._cond:
            return {n: Active(vm.proc.pid, vm.started, tuple(t for t, _ in vm.taps), vm.launch,
                              vm.restarts)
                    for n, vm in self._vms.items()
                    if vm.status in ACTIVE and vm.phase == "bhyve" and vm.proc is not None
                    and vm.started is not None and vm.launch is not None}

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """status() of every configured VM and of every VM still running without a config."""
        index = self._index(self._config())
        wanted = [n or "" for n in index[0]]
        with self._cond:
            wanted += [n for n, vm in self._vms.items() if vm.status in ACTIVE]
        return {name: self.status(name, index=index) for name in dict.fromkeys(wanted) if name}

    def bridge_taps(self) -> dict[str, list[str]]:
        """bridge -> the taps the supervisor has added to it, across all VMs (cheap: no config
        is read, so a <get> of networks alone does not cost a status of every VM)."""
        out: dict[str, list[str]] = {}
        with self._cond:
            for vm in self._vms.values():
                for tap, bridge in vm.taps:
                    if bridge:
                        out.setdefault(bridge, []).append(tap)
        return out

    def statuses(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        """status() of these configured VMs only (a filtered <get>), one index for all."""
        index = self._current()
        return {n: self.status(n, index=index) for n in names if index[0].get(n) is not None}

    def status(self, name: str, root: etree._Element | None = None,
               index: _Index | None = None) -> dict[str, Any]:
        """The VM's operational state, keyed by the leaf names of hvd-vm's `state` container;
        None for a leaf that has no value."""
        with self._cond:
            vm = self._vms.get(name)
            snap = None if vm is None else (
                vm.status, vm.proc.pid if vm.proc else None, vm.started, list(vm.taps),
                vm.last_exit_code, vm.last_exit_reason, vm.launch, vm.vnc)
        status, pid, started, taps, code, reason, launch, vnc = snap or (
            STOPPED, None, None, [], None, None, None, None)
        active = status in ACTIVE
        spec: specs.VmSpec | None = None
        nets: dict[str, specs.NetworkSpec] = {}
        if launch is not None or active:  # only then does the spec matter (pending, console)
            try:
                spec, nets = self._lookup(name, root, index)
            except DataMissing:
                if snap is None:
                    raise
            except RpcError:
                pass
        elif snap is None:  # a VM the supervisor never ran: it must be configured
            self._configured(name, index or (
                self._current() if root is None else self._index(root)))
        pending: bool | None = None
        if launch is not None:
            pending = spec is None or bhyve.needs_restart(launch, spec, _mtus(nets))
        console = None
        if active and spec is not None and spec.console == "nmdm":
            console = self.host.console_path(name)
        return {
            "status": status,
            "pid": pid,
            "uptime": int(time.time() - started) if started is not None else None,
            "console": console,
            "tap": [t for t, _ in taps] if active else [],
            "last-exit-code": code,
            "last-exit-reason": reason,
            "pending-restart": pending,
            "host-backend": self.host.name,
            "vnc": vnc if active else None,
        }

    # -- hvd start and stop -------------------------------------------------------------------

    def _specs(self) -> list[specs.VmSpec]:
        out = []
        for el in self._vm_elements():
            try:
                out.append(specs.read_vm(el))
            except ValueError as e:
                log.error("skipping a VM entry: %s", e)
        return out

    def autostart(self) -> list[str]:
        """Start the autostart VMs, lowest order first, waiting each one's delay after it."""
        todo = sorted((s for s in self._specs() if s.autostart),
                      key=lambda s: (s.autostart_order, s.name))
        started = []
        for spec in todo:
            if self._closing.is_set():
                break
            if self.is_running(spec.name):
                continue
            try:
                self.start(spec.name)
                started.append(spec.name)
            except RpcError as e:
                log.error("autostart of VM %s failed: %s", spec.name, e.message)
                continue
            if spec.autostart_delay:
                self._closing.wait(spec.autostart_delay)
        return started

    def shutdown_all(self) -> list[str]:
        """Stop every running VM, in the reverse of the autostart order."""
        order = {s.name: s.autostart_order for s in self._specs()}
        with self._cond:
            running = sorted(((order.get(n, vm.order), n) for n, vm in self._vms.items()
                              if vm.status in ACTIVE), reverse=True)
        for _, name in running:
            try:
                self.stop(name)
            except RpcError as e:
                log.error("stopping VM %s failed: %s", name, e.message)
        return [name for _, name in running]

    def adopt(self) -> dict[str, str]:
        """At hvd start (§7): adopt live bhyve processes, clean up leftovers, mark the rest
        stopped. Returns what was done per VM: adopted, cleaned or stopped."""
        candidates = {s.name for s in self._specs()}
        vm_root = self.root / "vm"
        if vm_root.is_dir():
            candidates |= {p.name for p in vm_root.iterdir() if (p / "state").is_dir()}
        instances = self.host.vmm_instances()
        outcome: dict[str, str] = {}
        for name in sorted(candidates):
            vm = self._record(name)
            with vm.op_lock:
                with self._cond:
                    if vm.status in ACTIVE:
                        continue
                rec = vm.files.load()
                if rec is not None and self.host.process_matches(rec.pid, name):
                    self._adopt(vm, rec)
                    outcome[name] = "adopted"
                elif rec is not None or name in instances:
                    self._cleanup(name, rec.taps if rec else [], rec.iscsi if rec else [])
                    vm.files.clear()
                    outcome[name] = "cleaned"
                else:
                    outcome[name] = "stopped"
        return outcome

    def _adopt(self, vm: _Vm, rec: RunRecord) -> None:
        proc = AdoptedProcess(rec.pid, self.poll_interval,
                              lambda: self.host.process_matches(rec.pid, vm.name))
        try:
            order = self._lookup(vm.name)[0].autostart_order
        except RpcError:
            order = vm.order
        with self._cond:
            vm.gen += 1
            gen = vm.gen
            vm.proc, vm.phase, vm.taps = proc, "bhyve", list(rec.taps)
            vm.sessions = list(rec.iscsi)
            vm.launch = (bhyve.Launch(rec.with_iso, tuple(tuple(c) for c in rec.launch))
                         if rec.launch else None)
            vm.started, vm.with_iso, vm.stop_requested = rec.started, rec.with_iso, False
            vm.vnc = bhyve.vnc_address(rec.argv)
            vm.order = order
        self._transition(vm, RUNNING, f"adopted: bhyve (pid {rec.pid}) was already running")
        watch(proc, self._closing, lambda code: self._on_exit(vm, gen, code), vm.name)
        try:
            self._limit(self._lookup(vm.name)[0], rec.pid)
        except RpcError as e:  # the VM runs on; its limits are what they were
            log.warning("VM %s: its limits could not be set again: %s", vm.name, e.message)

    def detach(self) -> None:
        """Stop watching without touching the guests (hvd exits, its VMs keep running)."""
        self._closing.set()
