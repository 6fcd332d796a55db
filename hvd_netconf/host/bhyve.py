"""bhyve, bhyveload, grub-bhyve and bhyvectl argv builders: pure functions of a VM's config.

Forms from freebsd-host.md §5 and §6. The YANG defaults are applied here (parse_vm), so the
builders never see an absent leaf. Slots are a function of the config's order alone: the
same config gives the same PCI layout on every start (§5.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.host import names
from hvd_netconf.namespaces import VM, qn

BHYVE = "bhyve"
BHYVELOAD = "bhyveload"
GRUB_BHYVE = "grub-bhyve"
BHYVECTL = "bhyvectl"
Argv = tuple[str, ...]

FIRMWARE_DIRS = ("/usr/local/share/uefi-firmware", "/usr/local/share/edk2-bhyve")
UEFI_CODE = "BHYVE_UEFI_CODE.fd"
UEFI_VARS = "BHYVE_UEFI_VARS.fd"
UEFI_COMBINED = "BHYVE_UEFI.fd"

HOSTBRIDGE_SLOT = 0
INSTALL_SLOT = 3
FIRST_DISK_SLOT = 4
LPC_SLOT = 31


@dataclass(frozen=True)
class Disk:
    name: str
    emulation: str = "virtio-blk"
    sectorsize: str | None = None


@dataclass(frozen=True)
class Nic:
    name: str
    network: str
    mac: str
    emulation: str = "virtio-net"


@dataclass(frozen=True)
class VmSpec:
    """One VM's config with every YANG default filled in."""

    name: str
    cpu: int = 1
    memory: int = 512
    boot_device: str | None = None
    uuid: str | None = None
    loader: str = "uefi"
    uefi_vars: bool = True
    grub_root: str = "hd0,msdos1"
    install_iso: str | None = None
    console: str = "nmdm"
    utc_clock: bool = True
    autostart: bool = False
    autostart_order: int = 100
    autostart_delay: int = 0
    on_reboot: str = "restart"
    on_poweroff: str = "stop"
    on_crash: str = "stop"
    stop_timeout: int = 30
    disks: tuple[Disk, ...] = ()
    nics: tuple[Nic, ...] = ()

    @property
    def smbios_uuid(self) -> str:
        return self.uuid or names.vm_uuid(self.name)

    @property
    def console_device(self) -> str | None:
        return names.console_host_side(self.name) if self.console == "nmdm" else None

    def hardware(self) -> tuple[object, ...]:
        """What a running bhyve cannot change: differing values mean a restart is pending."""
        return (self.cpu, self.memory, self.boot_device, self.smbios_uuid, self.loader,
                self.uefi_vars, self.grub_root, self.console, self.utc_clock,
                self.disks, self.nics)


def _text(el: etree._Element, *path: str) -> str | None:
    for name in path:
        found = el.find(qn(VM, name))
        if found is None:
            return None
        el = found
    return el.text.strip() if el.text is not None else ""


def _bool(value: str | None, default: bool) -> bool:
    return default if value is None else value == "true"


def parse_vm(vm: etree._Element) -> VmSpec:
    """A `<vm xmlns="urn:hvd:vm">` element -> VmSpec, with the model's defaults."""
    name = _text(vm, "name")
    if not name:
        raise ValueError("a vm entry has no name")
    disks = tuple(
        Disk(
            name=_text(d, "name") or "",
            emulation=_text(d, "emulation") or "virtio-blk",
            sectorsize=_text(d, "sectorsize"),
        )
        for d in vm.findall(qn(VM, "disk"))
    )
    nics = tuple(
        Nic(
            name=(nic := _text(n, "name") or ""),
            network=_text(n, "network") or "",
            mac=(_text(n, "mac") or names.mac_address(name, nic)).lower(),
            emulation=_text(n, "emulation") or "virtio-net",
        )
        for n in vm.findall(qn(VM, "nic"))
    )

    def num(value: str | None, default: int) -> int:
        return default if value is None else int(value)

    return VmSpec(
        name=name,
        cpu=num(_text(vm, "cpu"), 1),
        memory=num(_text(vm, "memory"), 512),
        boot_device=_text(vm, "boot-device"),
        uuid=_text(vm, "uuid"),
        loader=_text(vm, "loader", "type") or "uefi",
        uefi_vars=_bool(_text(vm, "loader", "uefi-vars"), True),
        grub_root=_text(vm, "loader", "grub-root") or "hd0,msdos1",
        install_iso=_text(vm, "install-iso"),
        console=_text(vm, "console") or "nmdm",
        utc_clock=_bool(_text(vm, "utc-clock"), True),
        autostart=_bool(_text(vm, "autostart", "enabled"), False),
        autostart_order=num(_text(vm, "autostart", "order"), 100),
        autostart_delay=num(_text(vm, "autostart", "delay"), 0),
        on_reboot=_text(vm, "on-reboot") or "restart",
        on_poweroff=_text(vm, "on-poweroff") or "stop",
        on_crash=_text(vm, "on-crash") or "stop",
        stop_timeout=num(_text(vm, "stop-timeout"), 30),
        disks=disks,
        nics=nics,
    )


def disk_path(zfs_parent: str, vm: str, disk: str) -> str:
    return names.zvol_device(names.disk_dataset(zfs_parent, vm, disk))


def boot_disk(vm: VmSpec) -> Disk | None:
    """The boot-device, else the first disk."""
    for d in vm.disks:
        if d.name == vm.boot_device:
            return d
    return vm.disks[0] if vm.disks else None


@dataclass(frozen=True)
class Slots:
    """The PCI layout: install media on 3, disks from 4 in order, NICs on the following slots.

    The model allows 8 disks and 8 NICs, so the last NIC sits on slot 19 at most, clear of lpc.
    """

    disks: tuple[int, ...]
    nics: tuple[int, ...]


def slots(vm: VmSpec) -> Slots:
    disks = tuple(range(FIRST_DISK_SLOT, FIRST_DISK_SLOT + len(vm.disks)))
    first_nic = FIRST_DISK_SLOT + len(vm.disks)
    nics = tuple(range(first_nic, first_nic + len(vm.nics)))
    return Slots(disks, nics)


def _disk_device(vm: VmSpec, disk: Disk, zfs_parent: str) -> str:
    parts = [disk.emulation, disk_path(zfs_parent, vm.name, disk.name)]
    if disk.sectorsize:
        parts.append(f"sectorsize={disk.sectorsize}")
    if vm.loader == "uefi" and disk.name == vm.boot_device:
        parts.append("bootindex=1")
    return ",".join(parts)


def _nic_device(nic: Nic, tap: str, mtu: int) -> str:
    device = f"{nic.emulation},{tap},mac={nic.mac}"
    if mtu != 1500 and nic.emulation == "virtio-net":
        device += f",mtu={mtu}"
    return device


def uefi_vars_path(vm_dir: str) -> str:
    """The per-VM copy of the UEFI variable store, next to the VM's config."""
    return f"{vm_dir.rstrip('/')}/uefi-vars.fd"


def bootrom(vm: VmSpec, firmware_dir: str, vm_dir: str) -> str:
    """`bootrom,<code>[,<vars>]`: split code+vars with a per-VM copy, or the combined image."""
    base = firmware_dir.rstrip("/")
    if vm.uefi_vars:
        return f"bootrom,{base}/{UEFI_CODE},{uefi_vars_path(vm_dir)}"
    return f"bootrom,{base}/{UEFI_COMBINED}"


def bhyve(
    vm: VmSpec,
    *,
    taps: Sequence[str],
    zfs_parent: str,
    vm_dir: str,
    firmware_dir: str = FIRMWARE_DIRS[0],
    mtus: Sequence[int] = (),
    with_iso: bool = True,
) -> Argv:
    """The bhyve command line (§5.3, §5.7); taps[i] backs vm.nics[i]."""
    if len(taps) != len(vm.nics):
        raise ValueError(f"VM {vm.name}: {len(vm.nics)} NICs but {len(taps)} taps")
    layout = slots(vm)
    argv: list[str] = [BHYVE, "-c", str(vm.cpu), "-m", f"{vm.memory}M", "-A", "-H", "-P", "-w"]
    if vm.utc_clock:
        argv.append("-u")
    argv += ["-U", vm.smbios_uuid, "-s", f"{HOSTBRIDGE_SLOT},hostbridge"]
    if with_iso and vm.install_iso:
        argv += ["-s", f"{INSTALL_SLOT},ahci-cd,{vm.install_iso},ro"]
    for slot, disk in zip(layout.disks, vm.disks, strict=True):
        argv += ["-s", f"{slot},{_disk_device(vm, disk, zfs_parent)}"]
    for i, (slot, nic) in enumerate(zip(layout.nics, vm.nics, strict=True)):
        mtu = mtus[i] if i < len(mtus) else 1500
        argv += ["-s", f"{slot},{_nic_device(nic, taps[i], mtu)}"]
    argv += ["-s", f"{LPC_SLOT},lpc"]
    if vm.console_device:
        argv += ["-l", f"com1,{vm.console_device}"]
    if vm.loader == "uefi":
        argv += ["-l", bootrom(vm, firmware_dir, vm_dir)]
    argv.append(vm.name)
    return tuple(argv)


def _boot_media(vm: VmSpec, zfs_parent: str, with_iso: bool) -> str:
    if with_iso and vm.install_iso:
        return vm.install_iso
    disk = boot_disk(vm)
    if disk is None:
        raise ValueError(f"VM {vm.name}: nothing to boot (no disk and no install-iso)")
    return disk_path(zfs_parent, vm.name, disk.name)


def bhyveload(vm: VmSpec, *, zfs_parent: str, with_iso: bool = True) -> Argv:
    """`bhyveload -m <mem> -d <disk-or-iso> [-c <nmdm A>] -e bhyve_vm_name=<vm> <vm>` (§5.1)."""
    argv: list[str] = [BHYVELOAD, "-m", f"{vm.memory}M",
                       "-d", _boot_media(vm, zfs_parent, with_iso)]
    if vm.console_device:
        argv += ["-c", vm.console_device]
    argv += ["-e", f"bhyve_vm_name={vm.name}", "-e", f"smbios.system.uuid={vm.smbios_uuid}",
             vm.name]
    return tuple(argv)


def grub_device_map(vm: VmSpec, *, zfs_parent: str, with_iso: bool = True) -> str:
    """device.map: (hdN) for the disks in order, (cd0) for the install ISO."""
    lines = [f"(hd{i}) {disk_path(zfs_parent, vm.name, d.name)}" for i, d in enumerate(vm.disks)]
    if with_iso and vm.install_iso:
        lines.append(f"(cd0) {vm.install_iso}")
    if not lines:
        raise ValueError(f"VM {vm.name}: nothing to boot (no disk and no install-iso)")
    return "\n".join(lines) + "\n"


def grub_bhyve(vm: VmSpec, *, device_map: str, with_iso: bool = True) -> Argv:
    """`grub-bhyve -m <device.map> -r <root> -M <mem> [-c <nmdm A>] <vm>` (§5.1)."""
    root = "cd0" if with_iso and vm.install_iso else vm.grub_root
    argv: list[str] = [GRUB_BHYVE, "-m", device_map, "-r", root, "-M", f"{vm.memory}M"]
    if vm.console_device:
        argv += ["-c", vm.console_device]
    argv.append(vm.name)
    return tuple(argv)


def destroy(vm: str) -> Argv:
    return (BHYVECTL, f"--vm={vm}", "--destroy")


def force_poweroff(vm: str) -> Argv:
    return (BHYVECTL, f"--vm={vm}", "--force-poweroff")
