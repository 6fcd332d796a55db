"""zfs(8) argv builders and output parsers: pure functions, forms from zfs-create(8),
zfs-set(8), zfs-get(8), zfs-inherit(8) and zfs-destroy(8) (docs/freebsd-facts.md §2.2).

Everything hvd creates is tagged with the user properties hvd:owner=hvd and hvd:role=<role>,
read back with `-s local` (user properties are inherited), so hvd destroys only its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ZFS = "zfs"
Argv = tuple[str, ...]

OWNER_PROP = "hvd:owner"
ROLE_PROP = "hvd:role"
OWNER = "hvd"

_SIZE = re.compile(r"([1-9][0-9]*|0)([KMGTP]?)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def size_bytes(size: str) -> int:
    """`20G` -> bytes, as zfs reads a size (binary units; no suffix means bytes)."""
    m = _SIZE.fullmatch(size.strip().upper())
    if not m:
        raise ValueError(f"bad size {size!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


def _tags(role: str) -> Argv:
    return ("-o", f"{OWNER_PROP}={OWNER}", "-o", f"{ROLE_PROP}={role}")


def create_root(dataset: str, mountpoint: str) -> Argv:
    """The hvd parent dataset, with parents, mounted where hvd keeps its tree."""
    return (ZFS, "create", "-p", "-o", f"mountpoint={mountpoint}", *_tags("root"), dataset)


def create_filesystem(dataset: str, role: str) -> Argv:
    """A tagged filesystem; no -p, so a missing parent fails instead of creating untagged ones."""
    return (ZFS, "create", *_tags(role), dataset)


def create_zvol(
    dataset: str,
    size: str,
    *,
    sparse: bool = True,
    volblocksize: str | None = None,
    compression: str | None = None,
) -> Argv:
    """`zfs create [-s] -V <size> -o volmode=dev [-b <bs>] [-o compression=<c>] <name>`."""
    argv: Argv = (ZFS, "create")
    if sparse:
        argv += ("-s",)
    argv += ("-V", size, "-o", "volmode=dev")
    if volblocksize:
        argv += ("-b", volblocksize)
    if compression:
        argv += ("-o", f"compression={compression}")
    return (*argv, *_tags("disk"), dataset)


def set_property(dataset: str, prop: str, value: str) -> Argv:
    return (ZFS, "set", f"{prop}={value}", dataset)


def set_volsize(dataset: str, size: str) -> Argv:
    return set_property(dataset, "volsize", size)


def inherit(dataset: str, prop: str) -> Argv:
    return (ZFS, "inherit", prop, dataset)


def get_local(dataset: str, prop: str) -> Argv:
    """One property set on this dataset itself; prints `-` when it is only inherited or unset."""
    return (ZFS, "get", "-H", "-p", "-s", "local", "-o", "value", prop, dataset)


def owner_check(dataset: str) -> Argv:
    return get_local(dataset, OWNER_PROP)


def owner_tree(dataset: str) -> Argv:
    """hvd's tag on a dataset and everything under it, snapshots included, with its source:
    `zfs get -H -p -r -o name,value,source hvd:owner <ds>` (zfs-get(8))."""
    return (ZFS, "get", "-H", "-p", "-r", "-o", "name,value,source", OWNER_PROP, dataset)


def foreign(stdout: str) -> list[str]:
    """The datasets in `owner_tree` output that are not tagged as hvd's on themselves: an
    inherited tag means someone else created it under one of hvd's (docs/freebsd-facts.md
    §2.4)."""
    out = []
    for line in stdout.splitlines():
        if line.strip():
            name, value, source = line.split("\t")
            if (value, source) != (OWNER, "local"):
                out.append(name)
    return out


def destroy(dataset: str, *, recursive: bool = False) -> Argv:
    return (ZFS, "destroy", *(("-r",) if recursive else ()), dataset)


LIST_COLUMNS = ("name", "type", "volsize", OWNER_PROP, ROLE_PROP)


def list_tree(dataset: str) -> Argv:
    """`zfs list -H -p -r -t filesystem,volume -o name,type,volsize,hvd:owner,hvd:role <ds>`."""
    return (ZFS, "list", "-H", "-p", "-r", "-t", "filesystem,volume",
            "-o", ",".join(LIST_COLUMNS), dataset)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    type: str
    volsize: int | None
    owner: str | None
    role: str | None


def parse_list(stdout: str) -> dict[str, DatasetInfo]:
    """Parse `list_tree` output (tab-separated; `-` means unset)."""
    out: dict[str, DatasetInfo] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        name, typ, volsize, owner, role = line.split("\t")
        out[name] = DatasetInfo(
            name, typ,
            None if volsize == "-" else int(volsize),
            None if owner == "-" else owner,
            None if role == "-" else role,
        )
    return out


USAGE_COLUMNS = ("name", "volsize", "used", "referenced")


def list_usage(dataset: str) -> Argv:
    """`zfs list -H -p -r -t volume -o name,volsize,used,referenced <ds>`: the volumes under
    ds with their size and the bytes they take (zfs-list(8), zfsprops(7))."""
    return (ZFS, "list", "-H", "-p", "-r", "-t", "volume", "-o", ",".join(USAGE_COLUMNS),
            dataset)


def parse_usage(stdout: str) -> dict[str, tuple[int, int, int]]:
    """dataset -> (volsize, used, referenced) from `list_usage` output."""
    out = {}
    for line in stdout.splitlines():
        if line.strip():
            name, volsize, used, referenced = line.split("\t")
            out[name] = (int(volsize), int(used), int(referenced))
    return out


# Snapshots. hvd's snapshots carry their own user properties, set at creation with -o
# (zfs-snapshot(8)). A snapshot inherits its dataset's user properties (zfsprops(7)), so a
# hand-made snapshot of hvd's dataset reads hvd:owner=hvd too, and `zfs list -o` does not say
# where a value comes from: the listing reads hvd:snap-owner, which hvd never sets on a
# dataset. hvd:owner is set too, locally, so `owner_tree` before a `zfs destroy -r` passes
# hvd's snapshots and names a hand-made one (docs/freebsd-facts.md §2.4, §2.5).
SNAP_OWNER_PROP = "hvd:snap-owner"
SNAP_DESCRIPTION_PROP = "hvd:snap-description"
SNAP_COMMIT_PROP = "hvd:snap-commit"
SNAP_COLUMNS = ("name", "creation", "used", "referenced", SNAP_OWNER_PROP,
                SNAP_DESCRIPTION_PROP, SNAP_COMMIT_PROP)


def snapshot(dataset: str, name: str, *, description: str | None, commit: int,
             policy: str | None = None) -> Argv:
    """`zfs snapshot -r -o hvd:owner=hvd -o hvd:snap-owner=hvd [-o hvd:snap-description=D]
    -o hvd:snap-commit=N <ds>@<name>`: one command, atomic across the subtree
    (zfs-snapshot(8) -r), so a VM's filesystem (its config.xml) and every disk zvol under it
    are taken at one instant."""
    props: Argv = ("-o", f"{OWNER_PROP}={OWNER}", "-o", f"{SNAP_OWNER_PROP}={OWNER}")
    if description:
        props += ("-o", f"{SNAP_DESCRIPTION_PROP}={description}")
    props += ("-o", f"{SNAP_COMMIT_PROP}={commit}")
    if policy:  # the scheduler's period (host/zfs_schedule.py), for its pruning alone
        props += ("-o", f"hvd:snap-policy={policy}")
    return (ZFS, "snapshot", "-r", *props, f"{dataset}@{name}")


def list_snapshots(dataset: str) -> Argv:
    """Every snapshot under dataset in creation order, numbers exact (zfs-list(8) -H -p,
    -s createtxg): `zfs list -H -p -t snapshot -s createtxg -o name,creation,used,referenced,
    hvd:snap-owner,hvd:snap-description,hvd:snap-commit -r <ds>`."""
    return (ZFS, "list", "-H", "-p", "-t", "snapshot", "-s", "createtxg",
            "-o", ",".join(SNAP_COLUMNS), "-r", dataset)


def rollback(dataset: str, name: str) -> Argv:
    """`zfs rollback <ds>@<name>` (zfs-rollback(8)): one dataset. Without -r zfs refuses while
    newer snapshots exist; hvd destroys those by name first, so it never destroys one it did
    not make."""
    return (ZFS, "rollback", f"{dataset}@{name}")


def destroy_snapshot(dataset: str, name: str) -> Argv:
    """`zfs destroy -r <ds>@<name>` (zfs-destroy(8)): the snapshot of that name on the
    dataset and on every descendant, as `zfs snapshot -r` made them."""
    return (ZFS, "destroy", "-r", f"{dataset}@{name}")


@dataclass(frozen=True)
class SnapshotInfo:
    dataset: str
    name: str
    creation: int
    used: int
    referenced: int
    owner: str | None
    description: str | None
    commit: int | None


def parse_snapshots(stdout: str) -> list[SnapshotInfo]:
    """Parse `list_snapshots` output (tab-separated; `-` means unset), in its order."""
    out: list[SnapshotInfo] = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        full, creation, used, referenced, owner, description, commit = line.split("\t")
        dataset, _, name = full.partition("@")
        out.append(SnapshotInfo(
            dataset, name, int(creation), int(used), int(referenced),
            None if owner == "-" else owner,
            None if description == "-" else description,
            int(commit) if commit.isdigit() else None))
    return out
