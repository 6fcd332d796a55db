"""bhyve, bhyveload, grub-bhyve and bhyvectl argv builders: pure functions of a VM's config.

Forms from bhyve(8), bhyveload(8), grub-bhyve and bhyvectl(8); the sections cited are
those of docs/freebsd-facts.md (§5, §6). The builders take a VmSpec (host/specs.py, which
fills in the YANG's defaults), so they never see an absent leaf. Slots are a function of the
config's order alone: the same config gives the same PCI layout on every start (§5.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hvd_netconf.host import cloudinit, guestagent, ifconfig, names
from hvd_netconf.host.specs import Disk, Graphics, Nic, VmSpec

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
AGENT_SLOT = 2  # the guest agent's virtio-console, before the install media
INSTALL_SLOT = 3
FIRST_DISK_SLOT = 4
RND_SLOT = 20  # clear of the last NIC (19 at most, see Slots)
CIDATA_SLOT = 21  # the cloud-init seed: after the disks, so it never comes first in a boot
FBUF_SLOT, XHCI_SLOT = 29, 30  # the framebuffer and its tablet, clear of disks and NICs
FIRST_EXTRA_SLOT = 22  # passthru, then 9p shares (§19): 22..28 (the YANG allows 4 + 3)
VNC_BASE = 5900  # the first port an unset graphics/port is given (the VNC display :0)
LPC_SLOT = 31


def disk_path(zfs_parent: str, vm: str, disk: Disk) -> str:
    """The disk's backing device: its zvol's /dev/zvol node, or the existing device or image
    named. An iSCSI LUN's da(4) device is known only once the supervisor has attached it (it
    sets the disk's device), a file's path with hvd's root (it sets the disk's image); before,
    the LUN's or file's name stands in, as in a launch compared for a restart, where only
    which disk matters."""
    if disk.existing is None and disk.iscsi is not None:
        return f"iscsi:{disk.iscsi.portal}/{disk.iscsi.target}/{disk.iscsi.lun}"
    if disk.existing is None and disk.file:  # its path is below hvd's root: the supervisor's
        return f"file:{disk.name}"
    return disk.existing or names.zvol_device(names.disk_dataset(zfs_parent, vm, disk.name))


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
    parts = [disk.emulation, disk_path(zfs_parent, vm.name, disk)]
    if disk.sectorsize:
        parts.append(f"sectorsize={disk.sectorsize}")
    if vm.loader == "uefi" and disk.name == vm.boot_device:
        parts.append("bootindex=1")
    return ",".join(parts)


def _nic_device(nic: Nic, tap: str, mtu: int) -> str:
    device = f"{nic.emulation},{tap},mac={nic.mac}"
    if mtu != ifconfig.ETHERNET_MTU and nic.emulation == "virtio-net":
        device += f",mtu={mtu}"
    return device


def fbuf(g: Graphics, vnc_port: int | None) -> str:
    """bhyve's fbuf device (bhyve(8), §5.5): tcp=ADDRESS:PORT (an IPv6 address in brackets),
    w=, h=, vga= and wait. Without a port of its own or one allocated, `auto` stands in (a
    launch compared for a restart, where the allocated port does not matter)."""
    port = g.port if g.port is not None else vnc_port
    host = f"[{g.listen}]" if ":" in g.listen else g.listen
    words = [f"fbuf,tcp={host}:{port if port is not None else 'auto'}", f"w={g.width}",
             f"h={g.height}", f"vga={g.vga}"]
    return ",".join(words + (["wait"] if g.wait else []))


def vnc_address(argv: Sequence[str]) -> str | None:
    """ADDRESS:PORT of the VNC server a bhyve command line starts, an IPv6 address in
    brackets (None: no framebuffer)."""
    for word in argv:
        if ",fbuf," in f",{word}" and "tcp=" in word:
            return word.split("tcp=", 1)[1].split(",", 1)[0]
    return None


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
    vnc_port: int | None = None,
) -> Argv:
    """The bhyve command line (§5.3, §5.7); taps[i] backs vm.nics[i]; vnc_port: the port an
    unset graphics/port was given at this start."""
    if len(taps) != len(vm.nics):
        raise ValueError(f"VM {vm.name}: {len(vm.nics)} NICs but {len(taps)} taps")
    layout = slots(vm)
    argv: list[str] = [BHYVE, "-c", cpus(vm), "-m", f"{vm.memory}M"]
    for on, flag in ((vm.acpi, "-A"), (vm.yield_on_hlt, "-H"), (vm.exit_on_pause, "-P"),
                     (vm.ignore_unknown_msr, "-w"), (vm.utc_clock, "-u"),
                     (vm.memory_wired, "-S")):
        if on:
            argv.append(flag)
    for pin in vm.pins:
        argv += ["-p", f"{pin.vcpu}:{pin.host_cpu}"]
    argv += ["-U", vm.smbios_uuid, "-s", f"{HOSTBRIDGE_SLOT},hostbridge"]
    if with_iso and vm.install_iso:
        argv += ["-s", f"{INSTALL_SLOT},ahci-cd,{vm.install_iso},ro"]
    for slot, disk in zip(layout.disks, vm.disks, strict=True):
        argv += ["-s", f"{slot},{_disk_device(vm, disk, zfs_parent)}"]
    for i, (slot, nic) in enumerate(zip(layout.nics, vm.nics, strict=True)):
        mtu = mtus[i] if i < len(mtus) else ifconfig.ETHERNET_MTU
        argv += ["-s", f"{slot},{_nic_device(nic, taps[i], mtu)}"]
    if vm.guest_agent:
        argv += ["-s", f"{AGENT_SLOT},{guestagent.console_device(vm_dir)}"]
    if vm.virtio_rnd:
        argv += ["-s", f"{RND_SLOT},virtio-rnd"]
    if vm.cloud_init is not None:
        argv += ["-s", f"{CIDATA_SLOT},ahci-cd,{cloudinit.seed_path(vm_dir)},ro"]
    extra = iter(range(FIRST_EXTRA_SLOT, FBUF_SLOT))
    for device in vm.passthru:
        argv += ["-s", f"{next(extra)},passthru,{device}"]
    for share in vm.shares:
        argv += ["-s", f"{next(extra)},virtio-9p,{share.name}={share.path}"
                 + (",ro" if share.read_only else "")]
    if vm.graphics is not None:
        argv += ["-s", f"{FBUF_SLOT},{fbuf(vm.graphics, vnc_port)}",
                 "-s", f"{XHCI_SLOT},xhci,tablet"]
    argv += ["-s", f"{LPC_SLOT},lpc"]
    if vm.console_device:
        argv += ["-l", f"com1,{vm.console_device}"]
    if vm.com2_device:
        argv += ["-l", f"com2,{vm.com2_device}"]
    if vm.loader == "uefi":
        argv += ["-l", bootrom(vm, firmware_dir, vm_dir)]
    if vm.tpm is not None:
        argv += ["-l", f"tpm,passthru,{vm.tpm}"]
    argv += [*vm.bhyve_options, vm.name]
    return tuple(argv)


def cpus(vm: VmSpec) -> str:
    """-c's value: `N`, or `cpus=N,sockets=S,cores=C,threads=T` with a topology (bhyve(8))."""
    if vm.sockets is None:
        return str(vm.cpu)
    return f"cpus={vm.cpu},sockets={vm.sockets},cores={vm.cores},threads={vm.threads}"


def bootable(vm: VmSpec, *, with_iso: bool = True) -> bool:
    """A loader needs a disk or the install ISO (left out after the first reboot); UEFI boots
    its firmware even with neither."""
    return vm.loader == "uefi" or bool(vm.disks) or bool(with_iso and vm.install_iso)


def _boot_media(vm: VmSpec, zfs_parent: str, with_iso: bool) -> str:
    if with_iso and vm.install_iso:
        return vm.install_iso
    disk = boot_disk(vm)
    if disk is None:
        raise ValueError(f"VM {vm.name}: nothing to boot (no disk and no install-iso)")
    return disk_path(zfs_parent, vm.name, disk)


def _wired(vm: VmSpec) -> list[str]:
    """A loader wires the memory it sets up too (bhyveload(8) -S, grub-bhyve -S)."""
    return ["-S"] if vm.memory_wired else []


def bhyveload(vm: VmSpec, *, zfs_parent: str, with_iso: bool = True) -> Argv:
    """`bhyveload -m <mem> [-S] -d <disk-or-iso> [-c <nmdm A>] -e bhyve_vm_name=<vm> <vm>`
    (§5.1)."""
    argv: list[str] = [BHYVELOAD, "-m", f"{vm.memory}M", *_wired(vm),
                       "-d", _boot_media(vm, zfs_parent, with_iso)]
    if vm.console_device:
        argv += ["-c", vm.console_device]
    argv += ["-e", f"bhyve_vm_name={vm.name}", "-e", f"smbios.system.uuid={vm.smbios_uuid}",
             vm.name]
    return tuple(argv)


def grub_device_map(vm: VmSpec, *, zfs_parent: str, with_iso: bool = True) -> str:
    """device.map: (hdN) for the disks in order, (cd0) for the install ISO."""
    lines = [f"(hd{i}) {disk_path(zfs_parent, vm.name, d)}" for i, d in enumerate(vm.disks)]
    if with_iso and vm.install_iso:
        lines.append(f"(cd0) {vm.install_iso}")
    if not lines:
        raise ValueError(f"VM {vm.name}: nothing to boot (no disk and no install-iso)")
    return "\n".join(lines) + "\n"


def grub_bhyve(vm: VmSpec, *, device_map: str, with_iso: bool = True) -> Argv:
    """`grub-bhyve -m <device.map> -r <root> -M <mem> [-S] [-c <nmdm A>] <vm>` (§5.1)."""
    root = "cd0" if with_iso and vm.install_iso else vm.grub_root
    argv: list[str] = [GRUB_BHYVE, "-m", device_map, "-r", root, "-M", f"{vm.memory}M",
                       *_wired(vm)]
    if vm.console_device:
        argv += ["-c", vm.console_device]
    argv.append(vm.name)
    return tuple(argv)


def destroy(vm: str) -> Argv:
    return (BHYVECTL, f"--vm={vm}", "--destroy")


def force_poweroff(vm: str) -> Argv:
    return (BHYVECTL, f"--vm={vm}", "--force-poweroff")


def processes() -> Argv:
    """`ps -ax -ww -o pid=,command=`: every process, its whole command line, no header
    (ps(1))."""
    return ("ps", "-ax", "-ww", "-o", "pid=,command=")


def vm_owners(stdout: str, vm: str) -> list[tuple[int, str]]:
    """The processes in `processes()` output that hold VM vm's /dev/vmm instance: a bhyve
    titled `bhyve: <vm>`, or a bhyve, bhyveload or grub-bhyve whose argv ends with the VM name
    (docs/freebsd-facts.md §7)."""
    out = []
    for line in stdout.splitlines():
        pid, _, command = line.strip().partition(" ")
        words = command.split()
        if not pid.isdigit() or not words:
            continue
        prog = words[0].rstrip(":").rsplit("/", 1)[-1]
        if prog in (BHYVE, BHYVELOAD, GRUB_BHYVE) and words[-1] == vm:
            out.append((int(pid), command.strip()))
    return out


# Stand-ins for what a start takes from the host rather than from the config: the taps
# ifconfig hands out, the dataset parent and state directory from hvd.conf, the firmware found.
_STAND_IN_PARENT = "pool/hv"
_STAND_IN_VM_DIR = "/vm"


@dataclass(frozen=True)
class Launch:
    """What a start of a VM runs, as data: tap set-up, loader and bhyve argv (and device.map).

    A running bhyve takes none of these changes, so two launches that differ mean a restart is
    needed; taps, paths and firmware are stand-ins, so only the config makes them differ.
    """

    with_iso: bool
    commands: tuple[Argv, ...]


def launch(vm: VmSpec, mtus: Mapping[str, int], *, with_iso: bool = True) -> Launch:
    """The launch for a VM whose NICs' networks have these MTUs (network -> MTU)."""
    taps = [f"tap{i}" for i in range(len(vm.nics))]
    nic_mtus = [mtus[nic.network] for nic in vm.nics]
    cmds: list[Argv] = []
    for tap, nic, mtu in zip(taps, vm.nics, nic_mtus, strict=True):
        bridge = names.bridge_name(nic.network)
        cmds += [ifconfig.tap_setup(tap, vm.name, nic.name, mtu),
                 ifconfig.bridge_addm(bridge, tap)]
        if nic.pin_mac:  # set at the join, so a change waits for the next start
            cmds.append(ifconfig.bridge_static(bridge, tap, nic.mac))
    try:
        if vm.loader == "grub":
            cmds += [("device.map", grub_device_map(vm, zfs_parent=_STAND_IN_PARENT,
                                                    with_iso=with_iso)),
                     grub_bhyve(vm, device_map="device.map", with_iso=with_iso)]
        elif vm.loader == "bhyveload":
            cmds.append(bhyveload(vm, zfs_parent=_STAND_IN_PARENT, with_iso=with_iso))
    except ValueError as e:  # nothing to boot: the start would fail here
        cmds.append((vm.loader, f"fails: {e}"))
    if vm.cloud_init is not None:  # the seed's content: a change waits for the next boot
        cmds.append(("cidata", cloudinit.digest(cloudinit.files(vm))))
    cmds.append(bhyve(vm, taps=taps, zfs_parent=_STAND_IN_PARENT, vm_dir=_STAND_IN_VM_DIR,
                      mtus=nic_mtus, with_iso=with_iso))
    return Launch(with_iso, tuple(cmds))


def needs_restart(running: Launch, vm: VmSpec, mtus: Mapping[str, int]) -> bool:
    """The one restart decision (plan and supervisor): would a start with this config run
    anything other than what the running VM was started with?"""
    return launch(vm, mtus, with_iso=running.with_iso) != running


def launched_size(running: Launch) -> tuple[int, int]:
    """The virtual CPUs and megabytes of memory a launch gives its guest: the -c and -m of
    its last command, the bhyve command line (bhyve(8); written by bhyve() above)."""
    argv = running.commands[-1]
    c = argv[argv.index("-c") + 1].split(",")[0].removeprefix("cpus=")
    return int(c), int(argv[argv.index("-m") + 1].removesuffix("M"))
