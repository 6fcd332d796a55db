"""snapshot-vm, delete-snapshot and rollback-vm (hvd-vm.yang), and the VMs' snapshots as state.

A snapshot is one `zfs snapshot -r` of the VM's dataset: its filesystem (config.xml, UEFI
variables) and every disk zvol under it, atomically (zfs-snapshot(8)). hvd tags its own with
hvd:snap-* user properties (host/zfs.py) and deletes or rolls back only those; a hand-made
snapshot is listed and left alone. A rollback restores the disks only: the VM's configuration
is the datastore's, so it never changes behind the commit path. The snapshot names the commit
it was taken under; `rollback` of that id (hvd-system.yang) restores the configuration as an
ordinary commit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from lxml import etree

from hvd_netconf.errors import DataExists, DataMissing, InUse, OperationFailed
from hvd_netconf.host import guestagent, names, specs, zfs
from hvd_netconf.host.backend import Host
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.ops.transactions import components
from hvd_netconf.ops.vm import rpc_leaf, vm_name
from hvd_netconf.state import child, leaf
from hvd_netconf.store import Datastores


def default_name(now: float | None = None) -> str:
    """`hvd-2026-12-03T08.30.00Z`: UTC, with dots where a time has colons."""
    return time.strftime("hvd-%Y-%m-%dT%H.%M.%SZ", time.gmtime(now))


def _vm_snapshots(stdout: str, vm_ds: str) -> list[zfs.SnapshotInfo]:
    return [s for s in zfs.parse_snapshots(stdout)
            if s.dataset == vm_ds or s.dataset.startswith(vm_ds + "/")]


def _read(ctx: OpContext, vm: str) -> tuple[str, list[zfs.SnapshotInfo]]:
    """The VM's dataset and every snapshot under it, oldest first (one zfs list)."""
    host = ctx.server.host
    if host is None:
        raise OperationFailed("this hvd has no host backend attached")
    _schema, dss = components(ctx.server)
    vms = dss.running.root.find(qn(VM, "vms"))
    if vms is None or all(v.findtext(qn(VM, "name")) != vm for v in vms):
        raise DataMissing(f"no VM named {vm!r} is configured")
    vm_ds = names.vm_dataset(ctx.server.settings.zfs_parent, vm)
    return vm_ds, _vm_snapshots(host.run(zfs.list_snapshots(vm_ds)), vm_ds)


def _hvd_made(snap: zfs.SnapshotInfo) -> bool:
    return snap.owner == zfs.OWNER


def _find(vm: str, vm_ds: str, snaps: list[zfs.SnapshotInfo], name: str) -> zfs.SnapshotInfo:
    """The VM-level snapshot `name`, made by hvd; anything else is refused by name."""
    for snap in snaps:
        if snap.dataset == vm_ds and snap.name == name:
            if not _hvd_made(snap):
                raise OperationFailed(
                    f"snapshot {vm_ds}@{name} of VM {vm} was not made by hvd: hvd leaves it "
                    "alone (zfs destroy or zfs rollback it by hand if you mean to)")
            return snap
    raise DataMissing(f"VM {vm} has no snapshot named {name!r}")


def _reply(**leaves: object) -> list[etree._Element]:
    out = []
    for key, value in leaves.items():
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            el = etree.Element(qn(VM, key), nsmap=default_ns(VM))
            el.text = ("true" if item else "false") if isinstance(item, bool) else str(item)
            out.append(el)
    return out


def take(host: Host, datastores: Datastores, vm_ds: str, name: str, *,
         description: str | None, policy: str | None = None) -> int:
    """One `zfs snapshot -r` of the VM's dataset, tagged as hvd's with the commit running is
    at (returned); the scheduler's carry their period too."""
    commit = datastores.history.last_id
    host.run(zfs.snapshot(vm_ds, name, description=description, commit=commit, policy=policy))
    return commit


def destroy(host: Host, vm: str, vm_ds: str, snaps: list[zfs.SnapshotInfo], name: str
            ) -> list[str]:
    """Destroy hvd's snapshot `name` of the VM (every part `zfs snapshot -r` made), refused
    when it or a part of it is not hvd's; the ZFS snapshots destroyed."""
    _find(vm, vm_ds, snaps, name)
    foreign = [f"{s.dataset}@{s.name}" for s in snaps
               if s.name == name and s.dataset != vm_ds and not _hvd_made(s)]
    if foreign:
        raise OperationFailed(f"not deleting snapshot {name!r} of VM {vm}: "
                              f"{', '.join(foreign)} was not made by hvd")
    host.run(zfs.destroy_snapshot(vm_ds, name))
    return [f"{s.dataset}@{s.name}" for s in snaps if s.name == name]


def snapshot_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    vm = vm_name(ctx, op, "vm")
    name = rpc_leaf(ctx, op, "snapshot-vm", "name") or default_name()
    description = rpc_leaf(ctx, op, "snapshot-vm", "description")
    vm_ds, snaps = _read(ctx, vm)
    if any(s.dataset == vm_ds and s.name == name for s in snaps):
        raise DataExists(f"VM {vm} already has a snapshot named {name!r}")
    _schema, dss = components(ctx.server)
    host = ctx.server.host
    assert host is not None  # _read checked
    running = ctx.server.supervisor is not None and ctx.server.supervisor.is_running(vm)
    entry = dss.running.get(("vm", vm))
    quiesce = rpc_leaf(ctx, op, "snapshot-vm", "quiesce") != "false"
    if not (running and quiesce and entry is not None and specs.read_vm(entry).guest_agent):
        commit = take(host, dss, vm_ds, name, description=description)
        return _reply(**{"name": name, "commit-id": commit, "vm-was-running": running,
                         "consistency": "crash" if running else "stopped",
                         "note": "the VM has no guest-agent" if running and quiesce else None})
    vm_dir = str(ctx.server.settings.root / "vm" / vm)
    done = guestagent.frozen(guestagent.socket_path(vm_dir), lambda: take(
        host, dss, vm_ds, name, description=description))
    return _reply(**{"name": name, "commit-id": done.result, "vm-was-running": running,
                     "consistency": "application" if done.application else "crash",
                     "frozen-ms": done.frozen_ms, "note": done.note})


def delete_snapshot(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    vm = vm_name(ctx, op, "vm")
    name = rpc_leaf(ctx, op, "delete-snapshot", "name") or ""
    vm_ds, snaps = _read(ctx, vm)
    assert ctx.server.host is not None
    return _reply(destroyed=destroy(ctx.server.host, vm, vm_ds, snaps, name))


def _newer(snaps: list[zfs.SnapshotInfo], target: str, datasets: Iterable[str]
           ) -> list[zfs.SnapshotInfo]:
    """The snapshots taken after `target` on these datasets (list order is creation order)."""
    out: list[zfs.SnapshotInfo] = []
    for ds in datasets:
        mine = [s for s in snaps if s.dataset == ds]
        at = next((i for i, s in enumerate(mine) if s.name == target), None)
        out += mine[at + 1:] if at is not None else []
    return out


def rollback_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    vm = vm_name(ctx, op, "vm")
    name = rpc_leaf(ctx, op, "rollback-vm", "name") or ""
    stop = rpc_leaf(ctx, op, "rollback-vm", "stop") == "true"
    destroy_newer = rpc_leaf(ctx, op, "rollback-vm", "destroy-newer") == "true"
    vm_ds, snaps = _read(ctx, vm)
    target = _find(vm, vm_ds, snaps, name)
    disks_ds = names.disks_dataset(ctx.server.settings.zfs_parent, vm)
    # the disks' zvols, and the disks dataset itself when file disks are files in it
    _schema, dss = components(ctx.server)
    entry = dss.running.get(("vm", vm))
    files = entry is not None and any(d.file for d in specs.read_vm(entry).disks)
    disks = sorted({s.dataset for s in snaps if s.name == name and (
        (files and s.dataset == disks_ds) or s.dataset.startswith(disks_ds + "/"))})
    newer = _newer(snaps, name, [vm_ds, *disks])
    newer_names = list(dict.fromkeys(s.name for s in newer))
    foreign = [f"{s.dataset}@{s.name}" for s in newer if not _hvd_made(s)]
    if foreign:
        raise OperationFailed(f"cannot roll VM {vm} back to {name!r}: the newer snapshots "
                              f"{', '.join(foreign)} were not made by hvd, and hvd destroys "
                              "only its own")
    if newer_names and not destroy_newer:
        raise InUse(f"cannot roll VM {vm} back to {name!r}: newer snapshots exist and would be "
                    f"destroyed: {', '.join(newer_names)} (pass destroy-newer true)")
    supervisor = ctx.server.supervisor
    stopped = False
    if supervisor is not None and supervisor.is_running(vm):
        if not stop:
            raise InUse(f"VM {vm} is running: stop it first, or pass stop true to stop it "
                        "for the rollback")
        supervisor.stop(vm)
        stopped = True
    host = ctx.server.host
    assert host is not None
    for newer_name in newer_names:
        host.run(zfs.destroy_snapshot(vm_ds, newer_name))
    for disk in disks:
        host.run(zfs.rollback(disk, name))
    _schema, dss = components(ctx.server)
    now = dss.history.last_id
    same = target.commit == now
    note = ("the disks are as they were; the VM's configuration was not changed by the "
            "rollback")
    if not same:
        note += (f" and may differ from the snapshot's: it was taken under commit "
                 f"{target.commit}, running is at commit {now}; `hv rollback "
                 f"{target.commit}` (the rollback RPC) restores that configuration as a commit")
    if stopped:
        note += "; the VM was stopped for the rollback and is left stopped"
    return _reply(**{"rolled-back": disks, "destroyed": newer_names, "commit-id": target.commit,
                     "config-may-differ": not same, "stopped": stopped, "message": note})


def snapshots_state(server: ServerView, data: etree._Element) -> None:
    """Every configured VM's snapshots, from one `zfs list` of hvd's VM datasets."""
    if server.host is None or server.datastores is None:
        return
    vms = server.datastores.running.root.find(qn(VM, "vms"))
    configured = [v.findtext(qn(VM, "name")) or "" for v in (vms if vms is not None else ())]
    if not configured:
        return
    top = names.vms_dataset(server.settings.zfs_parent)
    found = zfs.parse_snapshots(server.host.run(zfs.list_snapshots(top)))
    container = child(data, VM, "snapshots")
    for vm in configured:
        vm_ds = names.vm_dataset(server.settings.zfs_parent, vm)
        mine = [s for s in found if s.dataset == vm_ds or s.dataset.startswith(vm_ds + "/")]
        for snap in (s for s in mine if s.dataset == vm_ds):
            parts = [s for s in mine if s.name == snap.name]
            entry = etree.SubElement(container, qn(VM, "snapshot"))
            leaf(entry, "vm", vm)
            leaf(entry, "name", snap.name)
            leaf(entry, "creation", time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                  time.gmtime(snap.creation)))
            leaf(entry, "used", sum(p.used for p in parts))
            leaf(entry, "referenced", sum(p.referenced for p in parts))
            if snap.description is not None:
                leaf(entry, "description", snap.description)
            leaf(entry, "hvd-made", "true" if _hvd_made(snap) else "false")
            if snap.commit is not None:
                leaf(entry, "commit-id", snap.commit)
