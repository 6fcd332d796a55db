"""Quotas across VMs (hvd-vm resource-pools and resource-policy), checked with the other
refusals before a commit changes anything.

A pool's maxima bound what its VMs have together in the configuration being committed: vCPUs,
memory, the configured sizes of their zvol disks, and their number. Only the pools a change
can push over are summed: the pools of the VMs it creates or changes, and the pools it edits.
The memory policy compares the memory of the VMs set to autostart with the host's physical
memory (sysctl hw.physmem, sysctl(8)); it is summed from the raw entries, without reading
every VM, so that a commit among 10,000 VMs stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from hvd_netconf.errors import ResourceDenied, RpcError
from hvd_netconf.host import specs, zfs
from hvd_netconf.keys import KINDS, Key
from hvd_netconf.namespaces import VM, qn

log = logging.getLogger("hvd.quotas")
APP_TAG = "resource-quota"  # the error-app-tag of a quota's refusal

Lookup = Callable[[Key], "etree._Element | None"]
_POOL, _POLICY, _VM = KINDS["resource-pool"], KINDS["resource-policy"], KINDS["vm"]
_NAME, _IN_POOL = qn(VM, "name"), qn(VM, "resource-pool")
_AUTOSTART = (qn(VM, "autostart"), qn(VM, "enabled"))
_MEMORY = qn(VM, "memory")


@dataclass
class Usage:
    """What a pool's VMs have together (the resource-pool's usage container)."""

    vms: int = 0
    cpus: int = 0
    memory: int = 0  # megabytes
    disk: int = 0  # bytes of zvol disks

    def add(self, vm: specs.VmSpec) -> None:
        self.vms += 1
        self.cpus += vm.cpu
        self.memory += vm.memory
        self.disk += sum(zfs.size_bytes(d.size) for d in vm.disks if d.zvol and d.size)


def _entries(kind_name: str, root: etree._Element, base: etree._Element | None,
             keys: Iterable[Key] | None, new: Lookup) -> dict[str, etree._Element]:
    """Every entry of a list kind in the new configuration: root's, and base's the change
    keeps (root may hold only the changed entries)."""
    kind = KINDS[kind_name]
    path = f"{kind.container_tag}/{kind.entry_tag}"
    els: dict[str, etree._Element] = {}
    for tree in (base, root):
        if tree is not None:
            els.update((el.findtext(_NAME) or "", el) for el in tree.iterfind(path))
    for k, name in keys or ():
        if k == kind_name and new((k, name)) is None:
            els.pop(name, None)
    return els


def pool_usage(vms: Iterable[etree._Element], pools: Iterable[str],
               memo: specs.Memo) -> dict[str, Usage]:
    """The usage of each named pool by the VM entries `vms`."""
    out = {p: Usage() for p in pools}
    for el in vms:
        usage = out.get((el.findtext(_IN_POOL) or "").strip())
        if usage is not None:
            usage.add(memo.vm(el))
    return out


def _over(pool: specs.PoolSpec, usage: Usage) -> list[str]:
    """What the usage takes past the pool's maxima, in words."""
    out = []
    if pool.max_vms is not None and usage.vms > pool.max_vms:
        out.append(f"{usage.vms} VMs, above its max-vms of {pool.max_vms}")
    if pool.max_cpus is not None and usage.cpus > pool.max_cpus:
        out.append(f"{usage.cpus} vCPUs, above its max-cpus of {pool.max_cpus}")
    if pool.max_memory is not None and usage.memory > pool.max_memory:
        out.append(f"{usage.memory} MB of memory, above its max-memory of "
                   f"{pool.max_memory} MB")
    if pool.max_disk is not None and usage.disk > zfs.size_bytes(pool.max_disk):
        out.append(f"{usage.disk} bytes of disks, above its max-disk of {pool.max_disk} "
                   f"({zfs.size_bytes(pool.max_disk)} bytes)")
    return out


def _promised(vms: Iterable[etree._Element]) -> int:
    """Megabytes of the VMs set to autostart, from the raw entries (the YANG's default where
    memory is unset)."""
    default = int(specs.schema_node(VM, "vms", "vm", "memory").default or 0)
    total = 0
    for el in vms:
        auto = el.find(_AUTOSTART[0])
        if auto is not None and (auto.findtext(_AUTOSTART[1]) or "").strip() == "true":
            total += int((el.findtext(_MEMORY) or "").strip() or default)
    return total


def check(root: etree._Element, base: etree._Element | None, keys: list[Key] | None,
          new: Lookup, memo: specs.Memo, physmem: Callable[[], int | None]) -> list[RpcError]:
    """The refusals of the quotas for a change of the entries `keys` (None: all of them)."""
    pools = {name: specs.read_resource_pool(el)
             for name, el in _entries("resource-pool", root, base, keys, new).items()}
    policy_key = (_POLICY.name, _POLICY.name)
    policy_el = new(policy_key) if keys is None or policy_key in keys else (
        root.find(_POLICY.container_tag) if root.find(_POLICY.container_tag) is not None
        else base.find(_POLICY.container_tag) if base is not None else None)
    policy = specs.read_memory_overcommit(policy_el)
    if not pools and policy == "allow":
        return []  # nothing to sum: a host without quotas pays nothing for them
    vms = _entries("vm", root, base, keys, new)
    if keys is None:
        touched = set(pools)
        changed: set[str] = set(vms)
    else:
        changed = {name for kind, name in keys if kind == _VM.name and name in vms}
        touched = {name for kind, name in keys if kind == _POOL.name and name in pools}
        touched |= {(vms[v].findtext(_IN_POOL) or "").strip() for v in changed}
    out: list[RpcError] = []
    usage = pool_usage(vms.values(), sorted(touched & set(pools)), memo)
    for name, used in usage.items():
        over = _over(pools[name], used)
        if not over:
            continue
        blamed = sorted(v for v in changed if (vms[v].findtext(_IN_POOL) or "").strip() == name)
        path = (f"/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{blamed[0]}']/hvd-vm:resource-pool"
                if blamed else f"/hvd-vm:resource-pools/hvd-vm:resource-pool[hvd-vm:name='{name}']")
        out.append(ResourceDenied(f"resource pool {name} would hold {'; '.join(over)}",
                                  path=path, app_tag=APP_TAG))
    if policy != "allow" and (keys is None or changed or policy_key in keys):
        promised, physical = _promised(vms.values()), physmem()
        if physical is not None and promised > physical >> 20:
            words = (f"the VMs set to autostart would have {promised} MB of memory, more than "
                     f"the host's {physical >> 20} MB (resource-policy memory-overcommit "
                     f"{policy})")
            if policy == "refuse":
                out.append(ResourceDenied(words, path="/hvd-vm:resource-policy",
                                          app_tag=APP_TAG))
            else:
                log.warning("%s", words)
    return out
