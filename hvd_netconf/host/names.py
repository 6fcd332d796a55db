"""Deterministic host names derived from configuration names: pure, tested, never guessed.

ZFS functions return dataset NAMES (`pool/hv/vm/web`), never mount paths: the C HVD passed
`/hv/vm/x` to zfs and every create failed (zfsprops(7); docs/freebsd-facts.md §2.1).
"""

from __future__ import annotations

import hashlib
import uuid

IFNAMSIZ = 16  # with the NUL: an interface name has at most 15 characters
MAX_IFNAME = IFNAMSIZ - 1

BRIDGE_PREFIX = "hv-"
# Hashed names start with "hvh" (no dash), so they can never equal a "hv-<name>" bridge.
HASHED_PREFIX = "hvh"

# bhyve's MAC range inside the FreeBSD OUI (sys/net/ieee_oui.h).
MAC_OUI = (0x58, 0x9C, 0xFC)
MAC_LOW_MAX = 0x0FFFFF

# Fixed namespace for VM UUIDs, so the same VM name gives the same SMBIOS UUID on every host.
UUID_NAMESPACE = uuid.UUID("5d8b1e0a-7c3f-4f6e-9a51-68766420766d")

HVD_GROUP = "hvd"
PORT_GROUP = "hvd-port"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def bridge_name(network: str) -> str:
    """`hv-<network>` when it fits in 15 characters, else `hvh` plus 12 hex digits of a hash."""
    if not network:
        raise ValueError("empty network name")
    name = BRIDGE_PREFIX + network
    if len(name) <= MAX_IFNAME:
        return name
    return HASHED_PREFIX + _digest("network/" + network).hex()[: MAX_IFNAME - len(HASHED_PREFIX)]


def bridge_descr(network: str, description: str | None = None) -> str:
    """The bridge's descr: the ownership tag first, then the operator's text."""
    tag = f"hvd:net/{network}"
    return f"{tag} {description}" if description else tag


def vlan_name(parent: str, tag: int) -> str:
    """`<parent>.<tag>`, the name the vlan cloner also accepts; checked against IFNAMSIZ."""
    name = f"{parent}.{tag}"
    check_ifname(name)
    return name


TAP_UNITS = 32768  # the units hvd picks a tap's name from when netd makes it


def tap_name(vm: str, nic: str, attempt: int = 0) -> str:
    """`tap<unit>` for a VM NIC whose tap netd makes (netd creates an interface by the name it
    is given): the same for the NIC each time, the next unit on each attempt after a taken one."""
    base = int.from_bytes(_digest(f"tap/{vm}/{nic}")[:4], "big")
    return f"tap{(base + attempt) % TAP_UNITS}"


def tap_descr(vm: str, nic: str) -> str:
    return f"hvd:vm/{vm}/{nic}"


def check_ifname(name: str) -> str:
    if not name or len(name) > MAX_IFNAME:
        raise ValueError(f"interface name {name!r} is not 1 to {MAX_IFNAME} characters")
    return name


def mac_address(vm: str, nic: str) -> str:
    """A stable MAC for (vm, nic) in 58:9c:fc:00:00:01-58:9c:fc:0f:ff:ff.

    Hash-derived, so two NICs can collide (1 in 2^20 per pair); callers that store MACs
    should check uniqueness against the stored ones, as docs/freebsd-facts.md §11 advises.
    """
    low = int.from_bytes(_digest(f"mac/{vm}/{nic}")[:4], "big") & MAC_LOW_MAX
    low = low or 1
    octets = [*MAC_OUI, low >> 16, (low >> 8) & 0xFF, low & 0xFF]
    return ":".join(f"{o:02x}" for o in octets)


def vm_uuid(vm: str) -> str:
    """A stable SMBIOS UUID for a VM without a configured one."""
    return str(uuid.uuid5(UUID_NAMESPACE, vm))


def console_host_side(vm: str) -> str:
    """The nmdm A side, given to bhyve and the loader."""
    return f"/dev/nmdm-{vm}.1A"


def com2_host_side(vm: str) -> str:
    """COM2's nmdm A side, given to bhyve (its B side: the same name ending in B)."""
    return f"/dev/nmdm-{vm}.2A"


def console_user_side(vm: str) -> str:
    """The nmdm B side, for `cu -l`."""
    return f"/dev/nmdm-{vm}.1B"


def _check_dataset(parent: str) -> str:
    if not parent or parent.startswith("/") or parent.endswith("/") or "//" in parent:
        raise ValueError(f"{parent!r} is not a ZFS dataset name (names never start with '/')")
    return parent


def vms_dataset(parent: str) -> str:
    return f"{_check_dataset(parent)}/vm"


def vm_dataset(parent: str, vm: str) -> str:
    return f"{vms_dataset(parent)}/{vm}"


def disks_dataset(parent: str, vm: str) -> str:
    return f"{vm_dataset(parent, vm)}/disks"


def disk_dataset(parent: str, vm: str, disk: str) -> str:
    return f"{disks_dataset(parent, vm)}/{disk}"


def disk_file(root: str, vm: str, disk: str) -> str:
    """A file disk's image, in the VM's disks dataset, mounted below hvd's root."""
    return f"{root.rstrip('/')}/vm/{vm}/disks/{disk}.img"


def zvol_device(dataset: str) -> str:
    """The device node of a zvol, from its NAME whatever the mountpoints are."""
    return f"/dev/zvol/{_check_dataset(dataset)}"
