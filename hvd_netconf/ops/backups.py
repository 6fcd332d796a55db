"""backup-vm, list-backups and restore-vm (hvd-vm.yang), to and from a backup target.

A backup is one `zfs snapshot -r` of the VM (hvd-backup-<UTC time>), each disk's snapshot
sent to the target, then bookmarked and the snapshot destroyed: the source keeps bookmarks
only, and the next backup sends each disk incrementally from its bookmark
(docs/freebsd-facts.md §2.6). A directory target holds stream files and, per backup, a
manifest (the VM's configuration, each stream's base, size and SHA-256); a dataset target
(local or over ssh) receives the disks under <dataset>/<vm>/<disk> and keeps the VM's
configuration in the user property hvd:vm-config of <dataset>/<vm>.

hvd writes only below a target what it makes, and never deletes there: a stream file, a
manifest or a dataset it did not make is left alone. A restore adds the VM by one ordinary
commit (source restore-vm) and receives its disks after it (ops/vmcopy.py).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from hvd_netconf.errors import DataMissing, InUse, InvalidValue, OperationFailed
from hvd_netconf.host import names, specs, zfs
from hvd_netconf.host import zfs_replication as zr
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.stream import Streamer
from hvd_netconf.namespaces import VM, default_ns, qn
from hvd_netconf.ops import snapshots, vmcopy
from hvd_netconf.ops.jobs import Cancelled, Job
from hvd_netconf.ops.registry import OpContext, ServerView
from hvd_netconf.ops.transactions import committer, components
from hvd_netconf.ops.vm import rpc_leaf, vm_name
from hvd_netconf.xmlparse import parse

SOURCE = "restore-vm"
PREFIX = "hvd-backup-"
CONFIG_PROP = "hvd:vm-config"
HOLD_TAG = "hvd-backup-chain"  # on a dataset target's newest backup of each disk
PROGRESS_EVERY = 64 << 20  # bytes between two backup-progress notifications of one stream
# backup and disk names in a manifest, before they become a path (the YANG's own patterns)
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,63}")


def backup_name(now: float | None = None) -> str:
    """`hvd-backup-2026-12-03T08.30.00Z`, as snapshots.default_name but for backups."""
    return PREFIX + snapshots.default_name(now).removeprefix("hvd-")


@dataclass(frozen=True)
class _Target:
    spec: specs.BackupTargetSpec
    host: Host

    @property
    def directory(self) -> Path | None:
        return Path(self.spec.directory) if self.spec.directory else None

    @property
    def dataset(self) -> str:
        ds = self.spec.dataset or self.spec.ssh_dataset
        assert ds is not None  # the YANG choice: a directory, a dataset or ssh
        return ds

    def remote(self, argv: zfs.Argv) -> zfs.Argv:
        s = self.spec
        if s.ssh_host is None:
            return argv
        return zr.over_ssh(argv, host=s.ssh_host, user=s.ssh_user, port=s.ssh_port,
                           identity=s.ssh_identity)

    def run(self, argv: zfs.Argv) -> str:
        return self.host.run(self.remote(argv))


def _target(ctx: OpContext, op: etree._Element, rpc: str) -> _Target:
    return target_named(ctx.server, rpc_leaf(ctx, op, rpc, "target") or "")


def target_named(server: ServerView, name: str) -> _Target:
    _schema, dss = components(server)
    el = dss.running.get(("backup-target", name))
    if el is None:
        raise DataMissing(f"no backup target named {name!r} is configured")
    host = server.host
    if host is None:
        raise OperationFailed("this hvd has no host backend attached")
    if not isinstance(host, Streamer):
        raise OperationFailed(f"the {host.name} host backend cannot stream a backup")
    return _Target(specs.read_backup_target(el), host)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# -- what a target holds ----------------------------------------------------------------------

def _manifests(t: _Target, vm: str) -> list[dict[str, Any]]:
    """A directory target's manifests of one VM, oldest first (files hvd did not write, or
    cannot read, are not backups)."""
    assert t.directory is not None
    out = []
    for path in sorted((t.directory / vm).glob(f"{PREFIX}*.json")):
        try:
            m = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(m, dict) and m.get("format") == 1 and m.get("vm") == vm \
                and _SAFE.fullmatch(str(m.get("backup"))) \
                and isinstance(m.get("disks"), dict) \
                and all(_SAFE.fullmatch(str(d)) for d in m["disks"]):
            out.append(m)
    return sorted(out, key=lambda m: (m["created"], m["backup"]))


def _stream_file(t: _Target, vm: str, m: dict[str, Any], disk: str) -> Path:
    """Where a backup's stream of one disk is: made from names the manifest loader checked,
    never from a path a manifest holds."""
    assert t.directory is not None
    return t.directory / vm / str(m["backup"]) / f"{disk}.zstream"


def _dataset_backups(t: _Target, vm: str) -> dict[str, list[str]]:
    """A dataset target's backups of one VM: disk -> its snapshots there, oldest first."""
    top = f"{t.dataset}/{vm}"
    try:
        found = zfs.parse_snapshots(t.run(zfs.list_snapshots(top)))
    except CommandFailed:
        return {}  # no backup of this VM yet
    out: dict[str, list[str]] = {}
    for s in found:
        if s.dataset.startswith(top + "/") and s.name.startswith(PREFIX):
            out.setdefault(s.dataset.rpartition("/")[2], []).append(s.name)
    return out


def _bookmarks(host: Host, vm_ds: str) -> set[str]:
    return {line.strip() for line in host.run(zr.list_bookmarks(vm_ds)).splitlines()
            if line.strip()}


# -- backup-vm --------------------------------------------------------------------------------

def stream_progress(server: ServerView, job: Job, disk: str, estimate: int | None
              ) -> Callable[[int], None]:
    """Where the job is (operational state), a backup-progress notification every
    PROGRESS_EVERY bytes, and the stop of a cancelled job."""
    bus = server.notifications
    vm = job.vm
    sent = [0]

    def report(moved: int) -> None:
        if bus is None or (moved - sent[0] < PROGRESS_EVERY and moved != estimate):
            return
        sent[0] = moved
        ev = etree.Element(qn(VM, "backup-progress"), nsmap=default_ns(VM))
        for key, value in (("vm", vm), ("disk", disk), ("bytes", moved),
                           ("estimate", estimate)):
            if value is not None:
                etree.SubElement(ev, qn(VM, key)).text = str(value)
        bus.publish(ev)

    return server.jobs.progress(job, disk, estimate, report)


def cancel_backup(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    job = ctx.server.jobs.cancel(vm_name(ctx, op, "vm"), ctx.session.id)
    return snapshots._reply(**{"job": job.id, "bytes": job.moved})


def backup_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    done = backup(ctx.server, ctx.session.id, vm_name(ctx, op, "vm"),
                  rpc_leaf(ctx, op, "backup-vm", "target") or "",
                  full=rpc_leaf(ctx, op, "backup-vm", "full") == "true")
    return snapshots._reply(**{"backup": done.name, "base": done.base, "bytes": done.moved})


@dataclass(frozen=True)
class Done:
    name: str
    base: str | None  # the oldest backup an incremental stream of it starts from
    moved: int


def backup(server: ServerView, session: int, vm: str, target: str, *, full: bool,
           now: float | None = None) -> Done:
    """One backup of vm to target (backup-vm, or the scheduler at its clock's now). Not
    serialized: the configuration is read, and the snapshot taken, under the server's lock;
    the streams then move without it, so a long backup holds up no commit, and it can be
    cancelled (cancel-backup)."""
    lock = committer(server).lock  # the server's datastore lock
    with lock:
        t = target_named(server, target)
        _schema, dss = components(server)
        entry = dss.running.get(("vm", vm))
        if entry is None:
            raise DataMissing(f"no VM named {vm!r} is configured")
        vmcopy.zvols_only(entry, "a backup")
    with server.jobs.running(vm, "backup", t.spec.name, session) as job:
        with lock:
            name, bases, commit = _snapshot_for_backup(server, t, vm, entry, full, now)
        return _send_backup(server, t, job, entry, name, bases, commit, now)


def _snapshot_for_backup(server: ServerView, t: _Target, vm: str, entry: etree._Element,
                         full: bool, now: float | None
                         ) -> tuple[str, dict[str, str], int | None]:
    """One `zfs snapshot -r` of the VM for this backup: its name, each disk's incremental
    base (a bookmark the target's newest backup shares), and the commit it was taken under."""
    parent = server.settings.zfs_parent
    vm_ds = names.vm_dataset(parent, vm)
    disks = [d.name for d in specs.read_vm(entry).disks if d.zvol]
    marks = _bookmarks(t.host, vm_ds)
    if t.directory is not None:
        held = _manifests(t, vm)
        prev = held[-1] if held and not full else None
        bases = {d: prev["backup"] for d in disks
                 if prev is not None and d in prev["disks"]
                 and f"{names.disk_dataset(parent, vm, d)}#{prev['backup']}" in marks}
        taken = {m["backup"] for m in held}
    else:
        there = _dataset_backups(t, vm)
        bases = {}
        for d in disks:
            common = [s for s in there.get(d, [])
                      if f"{names.disk_dataset(parent, vm, d)}#{s}" in marks]
            if common and not full:
                bases[d] = common[-1]
        taken = {s for snaps in there.values() for s in snaps}
    taken |= {m.partition("#")[2] for m in marks}
    name = first = backup_name(now)
    n = 1
    while name in taken:  # another backup within the same second
        n += 1
        name = f"{first}-{n}"
    _schema, dss = components(server)
    commit = dss.history.last_id
    t.host.run(zfs.snapshot(vm_ds, name, description=f"backup to {t.spec.name}",
                            commit=commit))
    return name, bases, commit


def _send_backup(server: ServerView, t: _Target, job: Job, entry: etree._Element, name: str,
                 bases: dict[str, str], commit: int | None, now: float | None) -> Done:
    """Each disk's stream to the target, bookmarked after; then the VM's configuration. The
    backup's snapshot is destroyed whatever happens; on a failure (or a cancel) what this
    backup made on a directory target goes too, and a cut receive is abandoned."""
    vm, parent = job.vm, server.settings.zfs_parent
    vm_ds = names.vm_dataset(parent, vm)
    disks = [d.name for d in specs.read_vm(entry).disks if d.zvol]
    streams: dict[str, dict[str, Any]] = {}
    made_dir: Path | None = None
    receiving: str | None = None
    try:
        if t.directory is not None:
            made_dir = t.directory / vm / name
            made_dir.mkdir(parents=True)
        else:
            _ensure_vm_dataset(t, vm)
        for d in disks:
            ds = names.disk_dataset(parent, vm, d)
            base = f"{ds}#{bases[d]}" if d in bases else None
            send = zr.send(f"{ds}@{name}", base=base, raw=t.spec.raw,
                           compressed=t.spec.compressed)
            estimate = zr.parse_estimate(t.host.run(zr.send(
                f"{ds}@{name}", base=base, raw=t.spec.raw, compressed=t.spec.compressed,
                estimate=True)))
            report = stream_progress(server, job, d, estimate)
            assert isinstance(t.host, Streamer)  # _target checked
            if made_dir is not None:
                path, digest = made_dir / f"{d}.zstream", hashlib.sha256()
                moved = t.host.pipe(send, path, progress=report, tap=digest.update)
                streams[d] = {"file": f"{name}/{d}.zstream", "bytes": moved,
                              "sha256": digest.hexdigest(), "base": bases.get(d)}
            else:
                receiving = target_ds = f"{t.dataset}/{vm}/{d}"
                recv = zr.receive(target_ds, role=None if d in bases else "backup")
                moved = _send_resuming(t, send, recv, target_ds, report)
                receiving = None
                streams[d] = {"bytes": moved, "base": bases.get(d)}
                _hold_newest(t, target_ds, name, bases.get(d))
            t.host.run(zr.bookmark(f"{ds}@{name}", name))
        config = etree.tostring(entry).decode()
        if made_dir is not None:
            created = int(time.time() if now is None else now)
            manifest = {"format": 1, "vm": vm, "backup": name, "created": created,
                        "commit": commit, "config": config, "disks": streams}
            path = made_dir.parent / f"{name}.json"
            tmp = path.with_name(path.name + ".part")
            tmp.write_text(json.dumps(manifest, indent=1) + "\n")
            tmp.replace(path)
        else:
            packed = base64.b64encode(zlib.compress(config.encode())).decode()
            t.run(zfs.set_property(f"{t.dataset}/{vm}", CONFIG_PROP, packed))
    except BaseException as e:
        if made_dir is not None:  # hvd made it in this call: nothing else is in it
            for f in made_dir.iterdir():
                f.unlink()
            made_dir.rmdir()
        if receiving is not None and isinstance(e, Cancelled):  # no resume wanted
            with contextlib.suppress(CommandFailed):
                t.run(zr.receive_abort(receiving))
        raise
    finally:
        t.host.run(zfs.destroy_snapshot(vm_ds, name))  # the bookmarks stay
    bases_used = sorted(set(bases.values()))
    return Done(name, bases_used[0] if bases_used else None,
                sum(s["bytes"] for s in streams.values()))


def _hold_newest(t: _Target, target_ds: str, name: str, base: str | None) -> None:
    """The target's newest snapshot of a disk is where the next incremental starts: held
    (zfs-hold(8)) so no retention of the target's own (a sanoid there, say) can destroy it
    and break the chain; the previous one is released."""
    t.run(zr.hold(HOLD_TAG, f"{target_ds}@{name}"))
    if base is not None:
        with contextlib.suppress(CommandFailed):  # not held: made before hvd held them
            t.run(zr.release(HOLD_TAG, f"{target_ds}@{base}"))


def _send_resuming(t: _Target, send: zfs.Argv, recv: zfs.Argv, target_ds: str,
                   report: Callable[[int], None]) -> int:
    """send | receive -s; a stream cut short is resumed once from the token the receiver
    kept (`zfs send -t`, zfs-send(8)), while the snapshot it needs still exists."""
    assert isinstance(t.host, Streamer)  # _target checked
    try:
        return t.host.pipe(send, t.remote(recv), progress=report)
    except CommandFailed:
        try:
            token = t.run(zr.resume_token(target_ds)).strip()
        except CommandFailed:
            token = "-"  # no dataset: nothing was kept
        if token in ("", "-"):
            raise
    try:
        return t.host.pipe(zr.send_resume(token), t.remote(zr.receive(target_ds)),
                           progress=report)
    except CommandFailed:
        t.run(zr.receive_abort(target_ds))  # the snapshot goes: the state is no use after
        raise


def _ensure_vm_dataset(t: _Target, vm: str) -> None:
    """<dataset>/<vm>, made and tagged by hvd on the first backup (the target dataset itself
    is the operator's and must exist: no -p)."""
    ds = f"{t.dataset}/{vm}"
    try:
        t.run(zfs.get_local(ds, zfs.OWNER_PROP))
    except CommandFailed:
        t.run(zfs.create_filesystem(ds, "backup"))


# -- retention ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    """One of hvd's backups of a VM on a target."""

    name: str
    bases: frozenset[str]  # the backups its incremental streams start from (none: full)


def held(t: _Target, vm: str) -> list[Held]:
    """hvd's backups of vm on the target, oldest first. A dataset target's snapshots stand
    alone (zfs keeps what a later one needs), so they have no bases."""
    if t.directory is not None:
        return [Held(m["backup"], frozenset(str(d["base"]) for d in m["disks"].values()
                                            if d.get("base"))) for m in _manifests(t, vm)]
    return [Held(n, frozenset()) for n in sorted(
        {s for snaps in _dataset_backups(t, vm).values() for s in snaps})]


def retained(backups: list[Held], keep: int) -> set[str]:
    """The newest `keep` backups and every backup their incremental chains start from."""
    by_name = {b.name: b for b in backups}
    out: set[str] = set()
    todo = [b.name for b in backups[-keep:]]
    while todo:
        name = todo.pop()
        if name in by_name and name not in out:
            out.add(name)
            todo += by_name[name].bases
    return out


def prune(server: ServerView, t: _Target, vm: str, keep: int) -> list[str]:
    """Delete vm's backups on the target beyond what `retained` keeps, oldest first, and the
    source's bookmarks of them; returns their names. Only what hvd wrote is deleted: a
    manifest's own stream files and the manifest, or hvd's snapshots of its datasets."""
    backups = held(t, vm)
    kept = retained(backups, keep)
    manifests = {m["backup"]: m for m in _manifests(t, vm)} if t.directory is not None else {}
    there = _dataset_backups(t, vm) if t.directory is None else {}
    parent = server.settings.zfs_parent
    marks = _bookmarks(t.host, names.vm_dataset(parent, vm))
    gone = []
    for b in backups:
        if b.name in kept:
            continue
        if t.directory is not None:
            m = manifests[b.name]
            for disk in m["disks"]:
                _stream_file(t, vm, m, disk).unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: something hvd did not write
                (t.directory / vm / b.name).rmdir()
            (t.directory / vm / f"{b.name}.json").unlink(missing_ok=True)
        else:
            for disk, snaps in there.items():
                if b.name in snaps:
                    t.run(zfs.destroy(f"{t.dataset}/{vm}/{disk}@{b.name}"))
        for mark in sorted(m for m in marks if m.endswith(f"#{b.name}")):
            t.host.run(zfs.destroy(mark))
        gone.append(b.name)
    return gone


# -- list-backups -----------------------------------------------------------------------------

def _all_vms(t: _Target) -> list[str]:
    if t.directory is not None:
        return sorted(p.name for p in t.directory.iterdir() if p.is_dir()) \
            if t.directory.is_dir() else []
    found = zfs.parse_list(t.run(zfs.list_tree(t.dataset)))
    return sorted(n.rpartition("/")[2] for n, info in found.items()
                  if n.rpartition("/")[0] == t.dataset and info.role == "backup")


def list_backups(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    t = _target(ctx, op, "list-backups")
    only = rpc_leaf(ctx, op, "list-backups", "vm")
    out = []
    for vm in [only] if only else _all_vms(t):
        rows: list[tuple[str, str | None, int | None]] = []
        if t.directory is not None:
            for m in _manifests(t, vm):
                bases = {s.get("base") for s in m["disks"].values()} - {None}
                rows.append((m["backup"], min(bases) if bases else None,
                             sum(s["bytes"] for s in m["disks"].values())))
        else:
            chain = sorted({s for snaps in _dataset_backups(t, vm).values() for s in snaps})
            rows = [(s, chain[i - 1] if i else None, None) for i, s in enumerate(chain)]
        for name, base, size in rows:
            el = etree.Element(qn(VM, "backup"), nsmap=default_ns(VM))
            for key, value in (("vm", vm), ("name", name), ("base", base), ("bytes", size)):
                if value is not None:
                    etree.SubElement(el, qn(VM, key)).text = str(value)
            out.append(el)
    return out


# -- restore-vm -------------------------------------------------------------------------------

def _chain(held: list[dict[str, Any]], chosen: dict[str, Any], disk: str) -> list[dict[str, Any]]:
    """The manifests whose streams rebuild `disk` as of `chosen`: its full one first."""
    by_name = {m["backup"]: m for m in held}
    out = [chosen]
    while (base := out[0]["disks"][disk].get("base")) is not None:
        if base not in by_name or disk not in by_name[base]["disks"]:
            raise OperationFailed(f"backup {chosen['backup']} of disk {disk} needs backup "
                                  f"{base}, which the target no longer holds")
        out.insert(0, by_name[base])
    return out


def restore_vm(ctx: OpContext, op: etree._Element) -> list[etree._Element]:
    """Not serialized: its commits take the datastore lock (vmcopy), its streams move
    without it, so `get` (its job's progress) answers meanwhile."""
    with committer(ctx.server).lock:
        t = _target(ctx, op, "restore-vm")
    vm = rpc_leaf(ctx, op, "restore-vm", "vm") or ""
    wanted = rpc_leaf(ctx, op, "restore-vm", "backup")
    new = rpc_leaf(ctx, op, "restore-vm", "name") or vm
    verify = rpc_leaf(ctx, op, "restore-vm", "verify-only") == "true"
    replace = rpc_leaf(ctx, op, "restore-vm", "replace") == "true"
    if replace and new != vm:
        raise InvalidValue("replace restores over the VM the backup is of: give no new name")
    parent = ctx.server.settings.zfs_parent
    held: list[dict[str, Any]] = []
    chosen: dict[str, Any] | None = None
    if t.directory is not None:
        held = _manifests(t, vm)
        chosen = next((m for m in held if m["backup"] == wanted), None) if wanted else \
            (held[-1] if held else None)
        config = chosen["config"] if chosen else None
        backup = chosen["backup"] if chosen else None
    else:
        there = _dataset_backups(t, vm)
        names_there = sorted({s for snaps in there.values() for s in snaps})
        backup = wanted if wanted in names_there else (
            names_there[-1] if names_there and not wanted else None)
        config = None
        if backup is not None:
            packed = t.run(zfs.get_local(f"{t.dataset}/{vm}", CONFIG_PROP)).strip()
            try:
                config = zlib.decompress(base64.b64decode(packed, validate=True)).decode()
            except (ValueError, zlib.error):
                raise OperationFailed(f"{t.dataset}/{vm} on target {t.spec.name} holds no "
                                      f"readable VM configuration ({CONFIG_PROP})") from None
    if backup is None or config is None:
        raise DataMissing(f"target {t.spec.name} holds no backup {wanted or ''} of VM "
                          f"{vm}".replace("  ", " "))
    assert isinstance(t.host, Streamer)  # _target checked
    host = t.host
    if verify:
        if t.directory is None:
            raise InvalidValue("verify-only checks stream files: target "
                               f"{t.spec.name} is a dataset, which zfs checks as it receives")
        checked, moved = [], 0
        assert chosen is not None
        for disk in sorted(chosen["disks"]):
            for m in _chain(held, chosen, disk):
                rec, path = m["disks"][disk], _stream_file(t, vm, m, disk)
                if not path.is_file() or _sha256(path) != rec["sha256"]:
                    raise OperationFailed(f"backup {m['backup']} of VM {vm}, disk {disk}: "
                                          f"{path} does not match its manifest's checksum")
                if rec.get("base") is None:  # zfs receive -n reads a whole full stream
                    moved += host.pipe(path, zr.receive(
                        f"{names.vms_dataset(parent)}/hvd-verify-{vm}-{disk}", dry_run=True,
                        resumable=False))
                checked.append(str(path))
        return snapshots._reply(**{"backup": backup, "verified": checked, "bytes": moved})
    entry = parse(config.encode())
    if new != vm:
        entry = vmcopy.renamed(entry, new)
    in_backup = set(chosen["disks"]) if chosen is not None else set(there)
    # a disk the backup does not hold keeps the empty zvol the commit makes
    disks = [d.name for d in specs.read_vm(entry).disks if d.name in in_backup]
    source = _Source(t, vm, backup, held, chosen)
    if replace:
        return _restore_over(ctx, source, entry, disks)
    with ctx.server.jobs.running(new, "restore", t.spec.name, ctx.session.id) as job:
        commit = vmcopy.add(ctx, entry, SOURCE, f"restore of {vm} from {t.spec.name}: {backup}")
        moved = 0
        try:
            for disk in disks:
                def copy_into(ds: str, disk: str = disk) -> None:
                    nonlocal moved
                    moved += source.receive(ctx.server, job, disk, ds)

                vmcopy.fill(host, parent, new, disk, copy_into)
        except BaseException as e:
            vmcopy.withdraw(ctx, new, SOURCE, f"restore of {vm} failed: {vmcopy.failed(e)}")
            raise
    return snapshots._reply(**{"name": new, "backup": backup, "commit-id": commit,
                               "bytes": moved})


@dataclass(frozen=True)
class _Source:
    """The backup a restore reads: on a directory target, the manifests of its chain."""

    t: _Target
    vm: str
    backup: str
    held: list[dict[str, Any]]
    chosen: dict[str, Any] | None

    def receive(self, server: ServerView, job: Job, disk: str, ds: str) -> int:
        """Receive the backup's disk into the new dataset ds (its chain of streams, or one
        send from a dataset target), whose snapshots are then destroyed; on a failure what
        it made goes. Returns the bytes moved."""
        t, host, moved = self.t, self.t.host, 0
        assert isinstance(host, Streamer)  # _target checked
        received: list[str] = []
        try:
            if t.directory is not None:
                assert self.chosen is not None
                for i, m in enumerate(_chain(self.held, self.chosen, disk)):
                    moved += host.pipe(
                        _stream_file(t, self.vm, m, disk),
                        zr.receive(ds, role="disk" if i == 0 else None, resumable=False),
                        progress=stream_progress(server, job, disk, None))
                    received.append(m["backup"])
            else:
                moved += host.pipe(
                    t.remote(zr.send(f"{t.dataset}/{self.vm}/{disk}@{self.backup}")),
                    zr.receive(ds, role="disk", resumable=False),
                    progress=stream_progress(server, job, disk, None))
                received.append(self.backup)
            for snap in received:
                host.run(zfs.destroy(f"{ds}@{snap}"))
        except BaseException:
            if received:  # what the receive made
                host.run(zfs.destroy(ds, recursive=True))
            raise
        return moved


def _restore_over(ctx: OpContext, source: _Source, entry: etree._Element, disks: list[str]
                  ) -> list[etree._Element]:
    """restore-vm with replace: the stopped VM's disks become the backup's and its
    configuration the backup's. Each disk is received beside the VM's (<disk>-hvd-restore)
    first, so a failed or cancelled stream leaves the VM as it was; then one commit puts the
    backup's configuration in running, and each disk is swapped in: the VM's zvol destroyed
    with its snapshots (the reply says what went), the received one renamed into place."""
    host, vm = source.t.host, source.vm
    sup = ctx.server.supervisor
    if sup is not None and sup.is_running(vm):
        raise InUse(f"VM {vm} is running: stop it first (a restore replaces its disks)",
                    error_type="application")
    if vmcopy.configured(ctx, vm) is None:
        raise DataMissing(f"no VM named {vm!r} is configured: restore it without replace")
    parent = ctx.server.settings.zfs_parent
    vm_ds = names.vm_dataset(parent, vm)
    before = zfs.parse_snapshots(host.run(zfs.list_snapshots(vm_ds)))
    made: list[tuple[str, str]] = []  # (received, its place)
    moved = 0
    with ctx.server.jobs.running(vm, "restore", source.t.spec.name, ctx.session.id) as job:
        try:
            for disk in disks:
                ds = names.disk_dataset(parent, vm, disk)
                moved += source.receive(ctx.server, job, disk, f"{ds}-hvd-restore")
                made.append((f"{ds}-hvd-restore", ds))
            with committer(ctx.server).lock:  # the commit and the swap, as one
                if sup is not None and sup.is_running(vm):
                    raise InUse(f"VM {vm} was started while its disks were received; stop "
                                "it and restore again", error_type="application")
                commit = vmcopy.replace(ctx, entry, SOURCE, f"restore of {vm} over itself "
                                        f"from {source.t.spec.name}: {source.backup}")
                replaced = []
                for tmp, ds in made:
                    gone = sum(1 for s in before if s.dataset == ds)
                    host.run(zfs.destroy(ds, recursive=True))
                    host.run(zr.rename(tmp, ds))
                    made = [m for m in made if m[0] != tmp]
                    replaced.append(f"{ds.rpartition('/')[2]} (and {gone} snapshot"
                                    f"{'' if gone == 1 else 's'} of it)")
        except BaseException:
            for tmp, _ds in made:
                host.run(zfs.destroy(tmp, recursive=True))
            raise
    return snapshots._reply(**{"name": vm, "backup": source.backup, "commit-id": commit,
                               "bytes": moved, "replaced": replaced})
