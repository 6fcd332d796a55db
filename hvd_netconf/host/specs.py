"""Reading a `<vm>` or `<network>` entry into a typed spec, the one reading the host side uses.

Each field names the leaf it is read from; an absent leaf takes its default from the loaded
YANG schema, so no default is written twice. The builders (bhyve, the plan, the supervisor)
see only these specs, never the XML. Leaves that do not touch the host are listed in
NOT_READ; a test checks that every configurable leaf of hvd-vm and hvd-network is one or the
other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from functools import cache
from typing import Any

from lxml import etree

from hvd_netconf.host import names
from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.schema.loader import load_schema
from hvd_netconf.schema.nodes import SchemaNode

# Configurable leaves no host command depends on, by (list, path below the entry).
NOT_READ = frozenset({
    ("vm", "description"),  # free text for the operator; hvd keeps it in config.xml only
    ("vm", "disk/zvol"),  # the default case of a disk's source: a disk without device
})


def _bool(text: str) -> bool:
    return text == "true"


def _leaf(path: str, conv: Callable[[str], Any] = str) -> Any:
    """A field read from the leaf at `path` (slash-separated, below the entry)."""
    return field(metadata={"leaf": path, "conv": conv})


@dataclass(frozen=True)
class IscsiLun:
    """A disk's iscsi container (hvd-vm.yang): the LUN of a target that backs it."""

    portal: str = _leaf("portal")
    target: str = _leaf("target")
    lun: int = _leaf("lun", int)
    serial: str | None = _leaf("serial")
    auth_nickname: str | None = _leaf("auth-nickname")
    login_timeout: int = _leaf("login-timeout", int)


@dataclass(frozen=True)
class Disk:
    name: str = _leaf("name")
    size: str | None = _leaf("size")  # None only for an existing device (the YANG's must)
    emulation: str = _leaf("emulation")
    sparse: bool = _leaf("sparse", _bool)
    volblocksize: str | None = _leaf("volblocksize")
    compression: str | None = _leaf("compression")
    sectorsize: str | None = _leaf("sectorsize")
    device: str | None = _leaf("device")  # an existing device: hvd never creates or destroys it
    image: str | None = _leaf("image")  # an existing image file: likewise never touched
    file: bool | None = _leaf("file", lambda _: True)  # a sparse file hvd creates (type empty)
    iscsi: IscsiLun | None = None  # a presence container: None when absent

    @property
    def existing(self) -> str | None:
        """The path of an existing device or image the disk uses as it is (None: a zvol, or
        an iSCSI LUN not yet attached; the supervisor sets device to its da(4) at start)."""
        return self.device or self.image

    @property
    def zvol(self) -> bool:
        """Backed by a zvol hvd creates and destroys (the source's default case)."""
        return self.existing is None and self.iscsi is None and not self.file

    @property
    def source(self) -> str:
        """zvol or file (hvd makes and destroys it), else external (hvd only uses it)."""
        return "zvol" if self.zvol else "file" if self.file else "external"

    @property
    def volsize(self) -> str:
        """The zvol's or file's size; the YANG's must sets one on each of them."""
        if self.size is None:
            raise ValueError(f"disk {self.name} has no size")
        return self.size


@dataclass(frozen=True)
class Nic:
    name: str = _leaf("name")
    network: str = _leaf("network")
    mac: str = _leaf("mac")  # unset: derived from the VM and NIC names by read_vm
    emulation: str = _leaf("emulation")
    pin_mac: bool = _leaf("pin-mac", _bool)
    dhcp_address: str | None = _leaf("dhcp-address")


@dataclass(frozen=True)
class Pin:
    vcpu: int = _leaf("vcpu", int)
    host_cpu: int = _leaf("host-cpu", int)


@dataclass(frozen=True)
class SnapshotCounts:
    """A snapshot-schedule (hvd-vm snapshot-counts): per period, the scheduled snapshots to
    keep. In a VM's container an unset count is None (the host-wide one applies); the
    host-wide /snapshot-schedule's defaults are 0."""

    frequent: int | None = _leaf("frequent", int)
    hourly: int | None = _leaf("hourly", int)
    daily: int | None = _leaf("daily", int)
    weekly: int | None = _leaf("weekly", int)
    monthly: int | None = _leaf("monthly", int)

    def over(self, default: SnapshotCounts) -> dict[str, int]:
        """Period -> count: these counts where set, else the default's (else 0)."""
        return {f.name: next((v for v in (getattr(self, f.name), getattr(default, f.name))
                              if v is not None), 0) for f in fields(self)}


@dataclass(frozen=True)
class BackupSchedule:
    """A VM's backup-schedule container (hvd-vm.yang): where, how often, how many to keep."""

    target: str = _leaf("target")
    period: str = _leaf("period")
    keep: int = _leaf("keep", int)
    full_every: int = _leaf("full-every", int)


@dataclass(frozen=True)
class Share:
    """A folder shared with the guest over virtio-9p (hvd-vm share list)."""

    name: str = _leaf("name")
    path: str = _leaf("path")
    read_only: bool = _leaf("read-only", _bool)


@dataclass(frozen=True)
class Graphics:
    """The VM's graphics container (hvd-vm.yang): bhyve's fbuf served over VNC."""

    listen: str = _leaf("listen")
    port: int | None = _leaf("port", int)  # None: allocated at each start
    width: int = _leaf("width", int)
    height: int = _leaf("height", int)
    vga: str = _leaf("vga")
    wait: bool = _leaf("wait", _bool)


@dataclass(frozen=True)
class CloudInit:
    """The VM's cloud-init container (hvd-vm.yang), read below it."""

    hostname: str | None = _leaf("hostname")
    instance_id: str | None = _leaf("instance-id")
    password_hash: str | None = _leaf("password-hash")
    password_user: str = _leaf("password-user")
    user_data: str | None = _leaf("user-data")
    network_config: str | None = _leaf("network-config")
    ssh_keys: tuple[str, ...] = field(default=(), metadata={"leaf-list": "ssh-authorized-key"})


@dataclass(frozen=True)
class VmSpec:
    """One VM's config with every YANG default filled in."""

    name: str = _leaf("name")
    cpu: int = _leaf("cpu", int)
    memory: int = _leaf("memory", int)
    # None when cpu-topology is absent (a presence container): bhyve's one socket per vCPU
    sockets: int | None = _leaf("cpu-topology/sockets", int)
    cores: int | None = _leaf("cpu-topology/cores", int)
    threads: int | None = _leaf("cpu-topology/threads", int)
    memory_wired: bool = _leaf("memory-wired", _bool)
    acpi: bool = _leaf("acpi", _bool)
    yield_on_hlt: bool = _leaf("yield-on-hlt", _bool)
    exit_on_pause: bool = _leaf("exit-on-pause", _bool)
    ignore_unknown_msr: bool = _leaf("ignore-unknown-msr", _bool)
    virtio_rnd: bool = _leaf("virtio-rnd", _bool)
    guest_agent: bool = _leaf("guest-agent", _bool)
    com2: str = _leaf("com2")
    boot_device: str | None = _leaf("boot-device")
    uuid: str | None = _leaf("uuid")
    loader: str = _leaf("loader/type")
    uefi_vars: bool = _leaf("loader/uefi-vars", _bool)
    grub_root: str = _leaf("loader/grub-root")
    install_iso: str | None = _leaf("install-iso")
    console: str = _leaf("console")
    utc_clock: bool = _leaf("utc-clock", _bool)
    autostart: bool = _leaf("autostart/enabled", _bool)
    autostart_order: int = _leaf("autostart/order", int)
    autostart_delay: int = _leaf("autostart/delay", int)
    on_reboot: str = _leaf("on-reboot")
    on_poweroff: str = _leaf("on-poweroff")
    on_crash: str = _leaf("on-crash")
    stop_timeout: int = _leaf("stop-timeout", int)
    resource_pool: str | None = _leaf("resource-pool")
    limit_cpu: int | None = _leaf("limits/cpu-percent", int)
    limit_memory: int | None = _leaf("limits/memory-use", int)  # megabytes
    disks: tuple[Disk, ...] = field(default=(), metadata={"list": "disk"})
    nics: tuple[Nic, ...] = field(default=(), metadata={"list": "nic"})
    pins: tuple[Pin, ...] = field(default=(), metadata={"list": "cpu-pin"})
    bhyve_options: tuple[str, ...] = field(default=(), metadata={"leaf-list": "bhyve-option"})
    snapshot_schedule: SnapshotCounts = field(
        default_factory=lambda: SnapshotCounts(None, None, None, None, None),
        metadata={"group": "snapshot-schedule"})
    cloud_init: CloudInit | None = None  # a presence container: None when absent
    graphics: Graphics | None = None  # likewise
    backup_schedule: BackupSchedule | None = None  # likewise
    # read by read_vm itself ("reads": the leaf it takes, for read_leaves)
    passthru: tuple[str, ...] = field(default=(), metadata={"reads": "passthru/device"})
    shares: tuple[Share, ...] = field(default=(), metadata={"list": "share"})
    tpm: str | None = field(default=None, metadata={"reads": "tpm/device"})  # its device

    @property
    def smbios_uuid(self) -> str:
        return self.uuid or names.vm_uuid(self.name)

    @property
    def console_device(self) -> str | None:
        return names.console_host_side(self.name) if self.console == "nmdm" else None

    @property
    def com2_device(self) -> str | None:
        return names.com2_host_side(self.name) if self.com2 == "nmdm" else None


@dataclass(frozen=True)
class Forward:
    protocol: str = _leaf("protocol")
    host_port: int = _leaf("host-port", int)
    guest_address: str = _leaf("guest-address")
    guest_port: int | None = _leaf("guest-port", int)  # unset: the host port

    @property
    def to_port(self) -> int:
        return self.host_port if self.guest_port is None else self.guest_port


@dataclass(frozen=True)
class Dhcp:
    """A network's dhcp container (hvd-network.yang): its dnsmasq's settings."""

    range_start: str = _leaf("range-start")
    range_end: str = _leaf("range-end")
    lease_time: int = _leaf("lease-time", int)
    dns: bool = _leaf("dns", _bool)
    domain: str | None = _leaf("domain")
    router_advertisements: bool = _leaf("router-advertisements", _bool)


@dataclass(frozen=True)
class NetworkSpec:
    """One network's config with every YANG default filled in."""

    name: str = _leaf("name")
    description: str | None = _leaf("description")
    fib: int = _leaf("fib", int)
    physical_interface: str | None = _leaf("physical-interface")
    vlan: int | None = _leaf("vlan", int)
    mtu: int = _leaf("mtu", int)
    isolate_guests: bool = _leaf("isolate-guests", _bool)
    sticky_guests: bool = _leaf("sticky-guests", _bool)
    spanning_tree: bool = _leaf("spanning-tree", _bool)
    nat: str | None = _leaf("nat")
    ip_forwarding: bool = _leaf("ip-forwarding", _bool)
    addresses: tuple[str, ...] = field(default=(), metadata={"leaf-list": "address"})
    forwards: tuple[Forward, ...] = field(default=(), metadata={"list": "forward"})
    dhcp: Dhcp | None = None  # a presence container: None when absent

    @property
    def guest_port(self) -> dict[str, bool]:
        """The if_bridge(4) flags of a guest's tap on this bridge (ifconfig(8) words)."""
        return {"private": self.isolate_guests, "sticky": self.sticky_guests}

    @property
    def bridge(self) -> str:
        return names.bridge_name(self.name)

    @property
    def member(self) -> str | None:
        """What joins the bridge: the VLAN interface, else the uplink itself, else nothing."""
        if self.physical_interface is None:
            return None
        if self.vlan:
            return names.vlan_name(self.physical_interface, self.vlan)
        return self.physical_interface


@dataclass(frozen=True)
class BackupTargetSpec:
    """One backup target (hvd-vm backup-targets), defaults filled in: exactly one of
    directory, dataset and ssh_host (with ssh_dataset) is set, as the YANG choice says."""

    name: str = _leaf("name")
    directory: str | None = _leaf("directory")
    dataset: str | None = _leaf("dataset")
    ssh_host: str | None = _leaf("ssh/host")
    ssh_user: str = _leaf("ssh/user")
    ssh_port: int = _leaf("ssh/port", int)
    ssh_identity: str | None = _leaf("ssh/identity-file")
    ssh_dataset: str | None = _leaf("ssh/dataset")
    compressed: bool = _leaf("compressed", _bool)
    raw: bool = _leaf("raw", _bool)


@dataclass(frozen=True)
class PoolSpec:
    """One resource pool (hvd-vm resource-pools): its maxima, None where unset."""

    name: str = _leaf("name")
    max_cpus: int | None = _leaf("max-cpus", int)
    max_memory: int | None = _leaf("max-memory", int)
    max_disk: str | None = _leaf("max-disk")
    max_vms: int | None = _leaf("max-vms", int)


@cache
def schema_node(ns: str, *path: str) -> SchemaNode:
    """The schema node at a path of names from a top-level container of module ns."""
    node = load_schema().top(ns, path[0])
    for name in path[1:]:
        node = node.child(ns, name) if node is not None else None
    if node is None:
        raise LookupError(f"the YANG has no {'/'.join(path)} in {ns}")
    return node


def _leaf_list(el: etree._Element, ns: str, name: str) -> tuple[str, ...]:
    """A leaf-list's values in their order."""
    return tuple((v.text or "").strip() for v in el.iterchildren(f"{{{ns}}}{name}"))


@cache
def _plan(cls: type, ns: str, entry: tuple[str, ...]
          ) -> tuple[tuple[str, tuple[str, ...], Callable[[str], Any], str | None], ...]:
    """(field, Clark names of its leaf's path, conversion, the schema's default) for each
    leaf field of cls: worked out once per class, not once per entry read."""
    out = []
    for f in fields(cls):
        path = f.metadata.get("leaf")
        if path is None:
            continue
        parts = path.split("/")
        out.append((f.name, tuple(f"{{{ns}}}{p}" for p in parts), f.metadata["conv"],
                    schema_node(ns, *entry, *parts).default))
    return tuple(out)


def _children(el: etree._Element) -> dict[Any, list[etree._Element]]:
    """Tag -> the children with it, in order: one pass over an entry instead of a find per
    leaf and a walk per list."""
    out: dict[Any, list[etree._Element]] = {}
    for child in el:
        kids = out.get(child.tag)
        if kids is None:
            out[child.tag] = [child]
        else:
            kids.append(child)
    return out


def _read(cls: type, el: etree._Element, ns: str, entry: tuple[str, ...],
          top: dict[Any, list[etree._Element]] | None = None) -> dict[str, Any]:
    """The leaf fields of cls from el (top: its children, when already gathered), the
    schema's default where a leaf is absent."""
    out: dict[str, Any] = {}
    top = _children(el) if top is None else top
    inner: dict[Any, dict[Any, list[etree._Element]]] = {}  # a container's children
    for name, tags, conv, default in _plan(cls, ns, entry):
        found = top.get(tags[0])
        for tag in tags[1:]:
            if found is None:
                break
            kids = inner.get(found[0])
            if kids is None:
                kids = inner[found[0]] = _children(found[0])
            found = kids.get(tag)
        text = default if found is None else (found[0].text or "").strip()
        out[name] = None if text is None else conv(text)
    return out


def _disk(el: etree._Element, entry: tuple[str, ...]) -> Disk:
    kids = _children(el)
    lun = kids.get(f"{{{VM}}}iscsi")
    return Disk(**_read(Disk, el, VM, entry, kids), iscsi=None if lun is None else IscsiLun(
        **_read(IscsiLun, lun[0], VM, (*entry, "iscsi"))))


def read_vm(el: etree._Element) -> VmSpec:
    """A `<vm xmlns="urn:hvd:vm">` element -> VmSpec, with the model's defaults."""
    entry = ("vms", "vm")
    top = _children(el)
    values = _read(VmSpec, el, VM, entry, top)
    name = values["name"]
    if not name:
        raise ValueError("a vm entry has no name")
    disks = tuple(_disk(d, (*entry, "disk")) for d in top.get(f"{{{VM}}}disk", ()))
    nics = []
    for n in top.get(f"{{{VM}}}nic", ()):
        nic = Nic(**_read(Nic, n, VM, (*entry, "nic")))
        nics.append(replace(nic, mac=(nic.mac or names.mac_address(name, nic.name)).lower()))
    if f"{{{VM}}}cpu-topology" not in top:
        values.update(sockets=None, cores=None, threads=None)
    pins = tuple(Pin(**_read(Pin, p, VM, (*entry, "cpu-pin")))
                 for p in top.get(f"{{{VM}}}cpu-pin", ()))
    options = tuple((o.text or "").strip() for o in top.get(f"{{{VM}}}bhyve-option", ()))
    mine = top.get(f"{{{VM}}}snapshot-schedule")
    schedule = SnapshotCounts(**_read(SnapshotCounts, etree.Element("none") if mine is None
                                      else mine[0], VM, (*entry, "snapshot-schedule")))
    ci = top.get(f"{{{VM}}}cloud-init")
    cloud_init = None if ci is None else CloudInit(
        **_read(CloudInit, ci[0], VM, (*entry, "cloud-init")),
        ssh_keys=_leaf_list(ci[0], VM, "ssh-authorized-key"))
    passthru = tuple((p.findtext(f"{{{VM}}}device") or "").strip()
                     for p in top.get(f"{{{VM}}}passthru", ()))
    shares = tuple(Share(**_read(Share, sh, VM, (*entry, "share")))
                   for sh in top.get(f"{{{VM}}}share", ()))
    tp = top.get(f"{{{VM}}}tpm")
    tpm = None if tp is None else (tp[0].findtext(f"{{{VM}}}device") or "").strip() or str(
        schema_node(VM, "vms", "vm", "tpm", "device").default)
    gr = top.get(f"{{{VM}}}graphics")
    graphics = None if gr is None else Graphics(**_read(Graphics, gr[0], VM,
                                                        (*entry, "graphics")))
    bs = top.get(f"{{{VM}}}backup-schedule")
    backups = None if bs is None else BackupSchedule(**_read(BackupSchedule, bs[0], VM,
                                                             (*entry, "backup-schedule")))
    return VmSpec(**values, disks=disks, nics=tuple(nics), pins=pins, bhyve_options=options,
                  snapshot_schedule=schedule, cloud_init=cloud_init, graphics=graphics,
                  passthru=passthru, shares=shares, tpm=tpm, backup_schedule=backups)


def read_snapshot_schedule(el: etree._Element | None) -> SnapshotCounts:
    """The host-wide `<snapshot-schedule xmlns="urn:hvd:vm">` (absent: every count 0)."""
    return SnapshotCounts(**_read(SnapshotCounts, el if el is not None else
                                  etree.Element("none"), VM, ("snapshot-schedule",)))


def read_resource_pool(el: etree._Element) -> PoolSpec:
    """A `<resource-pool xmlns="urn:hvd:vm">` element -> PoolSpec."""
    return PoolSpec(**_read(PoolSpec, el, VM, ("resource-pools", "resource-pool")))


def read_memory_overcommit(el: etree._Element | None) -> str:
    """The host-wide `<resource-policy>`'s memory-overcommit (absent: the YANG's default)."""
    found = el.findtext(f"{{{VM}}}memory-overcommit") if el is not None else None
    if found:
        return found.strip()
    default = schema_node(VM, "resource-policy", "memory-overcommit").default
    assert default is not None  # hvd-vm.yang gives one
    return default


def read_backup_target(el: etree._Element) -> BackupTargetSpec:
    """A `<backup-target xmlns="urn:hvd:vm">` element -> BackupTargetSpec."""
    return BackupTargetSpec(**_read(BackupTargetSpec, el, VM,
                                    ("backup-targets", "backup-target")))


def vm_defaults(name: str) -> VmSpec:
    """The spec of a VM that sets nothing but its name."""
    el = etree.Element(f"{{{VM}}}vm")
    etree.SubElement(el, f"{{{VM}}}name").text = name
    return read_vm(el)


def read_network(el: etree._Element) -> NetworkSpec:
    """A `<network xmlns="urn:hvd:network">` element -> NetworkSpec, with the model's
    defaults."""
    entry = ("networks", "network")
    values = _read(NetworkSpec, el, NETWORK, entry)
    if not values["name"]:
        raise ValueError("a network entry has no name")
    forwards = tuple(Forward(**_read(Forward, f, NETWORK, (*entry, "forward")))
                     for f in el.iterchildren(f"{{{NETWORK}}}forward"))
    d = el.find(f"{{{NETWORK}}}dhcp")
    dhcp = None if d is None else Dhcp(**_read(Dhcp, d, NETWORK, (*entry, "dhcp")))
    return NetworkSpec(**values, addresses=_leaf_list(el, NETWORK, "address"),
                       forwards=forwards, dhcp=dhcp)


class Memo:
    """The specs of one commit's entries, each read once however many checks and plans ask
    (keyed by the element, which the memo keeps alive so that its id stays its own). Only for
    the span of one commit: an entry edited later is a new reading."""

    def __init__(self) -> None:
        self._vms: dict[int, tuple[etree._Element, VmSpec]] = {}
        self._nets: dict[int, tuple[etree._Element, NetworkSpec]] = {}

    def vm(self, el: etree._Element) -> VmSpec:
        hit = self._vms.get(id(el))
        if hit is None:
            hit = self._vms[id(el)] = (el, read_vm(el))
        return hit[1]

    def network(self, el: etree._Element) -> NetworkSpec:
        hit = self._nets.get(id(el))
        if hit is None:
            hit = self._nets[id(el)] = (el, read_network(el))
        return hit[1]


def read_leaves() -> set[tuple[str, str]]:
    """(list, path) of every leaf the readers read: the `leaf` of each field, by list."""
    out: set[tuple[str, str]] = set()
    for lst, cls in (("vm", VmSpec), ("vm", Disk), ("vm", Nic), ("vm", Pin), ("vm", CloudInit),
                     ("vm", Graphics), ("vm", Share), ("vm", IscsiLun), ("vm", BackupSchedule),
                     ("vm", SnapshotCounts), ("network", NetworkSpec), ("network", Forward),
                     ("network", Dhcp)):
        prefix = {Disk: "disk/", Nic: "nic/", Pin: "cpu-pin/", Forward: "forward/",
                  CloudInit: "cloud-init/", SnapshotCounts: "snapshot-schedule/",
                  Graphics: "graphics/", Share: "share/", IscsiLun: "disk/iscsi/",
                  BackupSchedule: "backup-schedule/", Dhcp: "dhcp/"}.get(cls, "")
        out |= {(lst, prefix + f.metadata[k]) for f in fields(cls)
                for k in ("leaf", "leaf-list", "reads") if k in f.metadata}
    return out
