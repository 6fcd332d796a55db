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
})


def _bool(text: str) -> bool:
    return text == "true"


def _leaf(path: str, conv: Callable[[str], Any] = str) -> Any:
    """A field read from the leaf at `path` (slash-separated, below the entry)."""
    return field(metadata={"leaf": path, "conv": conv})


@dataclass(frozen=True)
class Disk:
    name: str = _leaf("name")
    size: str = _leaf("size")
    emulation: str = _leaf("emulation")
    sparse: bool = _leaf("sparse", _bool)
    volblocksize: str | None = _leaf("volblocksize")
    compression: str | None = _leaf("compression")
    sectorsize: str | None = _leaf("sectorsize")


@dataclass(frozen=True)
class Nic:
    name: str = _leaf("name")
    network: str = _leaf("network")
    mac: str = _leaf("mac")  # unset: derived from the VM and NIC names by read_vm
    emulation: str = _leaf("emulation")


@dataclass(frozen=True)
class Pin:
    vcpu: int = _leaf("vcpu", int)
    host_cpu: int = _leaf("host-cpu", int)


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
    disks: tuple[Disk, ...] = field(default=(), metadata={"list": "disk"})
    nics: tuple[Nic, ...] = field(default=(), metadata={"list": "nic"})
    pins: tuple[Pin, ...] = field(default=(), metadata={"list": "cpu-pin"})
    bhyve_options: tuple[str, ...] = field(default=(), metadata={"leaf-list": "bhyve-option"})

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
class NetworkSpec:
    """One network's config with every YANG default filled in."""

    name: str = _leaf("name")
    description: str | None = _leaf("description")
    fib: int = _leaf("fib", int)
    physical_interface: str | None = _leaf("physical-interface")
    vlan: int | None = _leaf("vlan", int)
    mtu: int = _leaf("mtu", int)

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


@cache
def schema_node(ns: str, *path: str) -> SchemaNode:
    """The schema node at a path of names from a top-level container of module ns."""
    node = load_schema().top(ns, path[0])
    for name in path[1:]:
        node = node.child(ns, name) if node is not None else None
    if node is None:
        raise LookupError(f"the YANG has no {'/'.join(path)} in {ns}")
    return node


def _text(el: etree._Element, ns: str, path: str) -> str | None:
    node: etree._Element | None = el
    for name in path.split("/"):
        node = node.find(f"{{{ns}}}{name}") if node is not None else None
    if node is None:
        return None
    return node.text.strip() if node.text is not None else ""


def _read(cls: type, el: etree._Element, ns: str, entry: tuple[str, ...]) -> dict[str, Any]:
    """The leaf fields of cls from el, the schema's default where a leaf is absent."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        path = f.metadata.get("leaf")
        if path is None:
            continue
        text = _text(el, ns, path)
        if text is None:
            text = schema_node(ns, *entry, *path.split("/")).default
        out[f.name] = None if text is None else f.metadata["conv"](text)
    return out


def read_vm(el: etree._Element) -> VmSpec:
    """A `<vm xmlns="urn:hvd:vm">` element -> VmSpec, with the model's defaults."""
    entry = ("vms", "vm")
    values = _read(VmSpec, el, VM, entry)
    name = values["name"]
    if not name:
        raise ValueError("a vm entry has no name")
    disks = tuple(Disk(**_read(Disk, d, VM, (*entry, "disk")))
                  for d in el.iterchildren(f"{{{VM}}}disk"))
    nics = []
    for n in el.iterchildren(f"{{{VM}}}nic"):
        nic = Nic(**_read(Nic, n, VM, (*entry, "nic")))
        nics.append(replace(nic, mac=(nic.mac or names.mac_address(name, nic.name)).lower()))
    if el.find(f"{{{VM}}}cpu-topology") is None:
        values.update(sockets=None, cores=None, threads=None)
    pins = tuple(Pin(**_read(Pin, p, VM, (*entry, "cpu-pin")))
                 for p in el.iterchildren(f"{{{VM}}}cpu-pin"))
    options = tuple((o.text or "").strip() for o in el.iterchildren(f"{{{VM}}}bhyve-option"))
    return VmSpec(**values, disks=disks, nics=tuple(nics), pins=pins, bhyve_options=options)


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
    values = _read(NetworkSpec, el, NETWORK, ("networks", "network"))
    if not values["name"]:
        raise ValueError("a network entry has no name")
    return NetworkSpec(**values)


def read_leaves() -> set[tuple[str, str]]:
    """(list, path) of every leaf the readers read: the `leaf` of each field, by list."""
    out: set[tuple[str, str]] = set()
    for lst, cls in (("vm", VmSpec), ("vm", Disk), ("vm", Nic), ("vm", Pin),
                     ("network", NetworkSpec)):
        prefix = {Disk: "disk/", Nic: "nic/", Pin: "cpu-pin/"}.get(cls, "")
        out |= {(lst, prefix + f.metadata[k]) for f in fields(cls)
                for k in ("leaf", "leaf-list") if k in f.metadata}
    return out
