"""clone-vm (hvd-vm.yang): a new VM from a snapshot of another.

Linked: each disk is a `zfs clone` of the source disk's snapshot, which ZFS then refuses to
destroy while the clone exists (docs/freebsd-facts.md §2.6). Full: each disk is a
`zfs send | zfs receive` copy, independent of the source; the received snapshot is destroyed
after, so the clone holds nothing hvd did not tag. The new VM's configuration is added by one
commit (ops/vmcopy.py) and removed by another when the copying fails.
"""

from __future__ import annotations

from lxml import etree

from hvd_netconf.errors import DataExists, DataMissing, OperationFailed
from hvd_netconf.host import names, specs, zfs
from hvd_netconf.host import zfs_replication as zr
from hvd_netconf.host.stream import Streamer
from hvd_netconf.keys import check_name
from hvd_netconf.ops import backups, snapshots, vmcopy
from hvd_netconf.ops.registry import OpContext
from hvd_netconf.ops.transactions import committer, components
from hvd_netconf.ops.vm import rpc_leaf, vm_name

SOURCE = "clone-vm"


def clone_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    # the checks, the origin snapshot and the commit under the datastore lock; the streams of
    # a full clone move after, without it, so `get` (its job's progress) still answers
    with committer(ctx.server).lock:
        src = vm_name(ctx, op, "vm")
        new = rpc_leaf(ctx, op, "clone-vm", "name") or ""
        check_name(("vm", new))
        snap = rpc_leaf(ctx, op, "clone-vm", "snapshot")
        linked = rpc_leaf(ctx, op, "clone-vm", "linked") != "false"
        entry = vmcopy.configured(ctx, src)
        if entry is None:
            raise DataMissing(f"no VM named {src!r} is configured")
        if vmcopy.configured(ctx, new) is not None:
            raise DataExists(f"a VM named {new!r} is configured already")
        vmcopy.zvols_only(entry, "a clone")
        host = vmcopy.host_of(ctx)
        if not linked and not isinstance(host, Streamer):
            raise OperationFailed(f"the {host.name} host backend cannot stream a full clone")
        parent = ctx.server.settings.zfs_parent
        src_ds = names.vm_dataset(parent, src)
        _vm_ds, snaps = snapshots._read(ctx, src)
        made = snap is None
        if snap is None:
            snap = f"hvd-clone-{new}"
            _schema, dss = components(ctx.server)
            host.run(zfs.snapshot(src_ds, snap, description=f"origin of clone {new}",
                                  commit=dss.history.last_id))
        elif not any(s.dataset == src_ds and s.name == snap for s in snaps):
            raise DataMissing(f"VM {src} has no snapshot named {snap!r}")
        taken = {s.dataset for s in snaps if s.name == snap}
        # a disk added after the snapshot has no copy in it: it stays empty, as new
        disks = [d.name for d in specs.read_vm(entry).disks
                 if made or names.disk_dataset(parent, src, d.name) in taken]
        commit = vmcopy.add(ctx, vmcopy.renamed(entry, new), SOURCE,
                            f"{'linked' if linked else 'full'} clone of {src}@{snap}")
    copied: list[str] = []
    moved = 0
    try:
        with ctx.server.jobs.running(new, "clone", src, ctx.session.id) as job:
            for disk in disks:
                origin = f"{names.disk_dataset(parent, src, disk)}@{snap}"

                def copy_into(ds: str, origin: str = origin, disk: str = disk) -> None:
                    nonlocal moved
                    if linked:
                        host.run(zr.clone(origin, ds, role="disk"))
                        return
                    assert isinstance(host, Streamer)  # checked above for a full clone
                    estimate = zr.parse_estimate(host.run(zr.send(origin, estimate=True)))
                    moved += host.pipe(zr.send(origin),
                                       zr.receive(ds, role="disk", resumable=False),
                                       progress=backups.stream_progress(ctx.server, job, disk,
                                                                        estimate))
                    host.run(zfs.destroy(f"{ds}@{snap}"))

                copied.append(vmcopy.fill(host, parent, new, disk, copy_into))
    except BaseException as e:
        vmcopy.withdraw(ctx, new, SOURCE, f"clone of {src} failed: {vmcopy.failed(e)}")
        if made and not linked:
            host.run(zfs.destroy_snapshot(src_ds, snap))
        raise
    if made and not linked:
        host.run(zfs.destroy_snapshot(src_ds, snap))
    return snapshots._reply(**{"name": new, "snapshot": f"{src_ds}@{snap}", "linked": linked,
                               "commit-id": commit, "disks": copied,
                               "bytes": None if linked else moved})
