"""zfs(8) as the sim runs it: create, destroy, set, inherit, get, list, snapshot and rollback over
the datasets in the state, with zfs's refusals; a volume's data is a sparse file under
ROOT/.sim/zvol, and a snapshot of it a sparse copy beside it (`<dataset>@<name>`), taken with
SEEK_DATA/SEEK_HOLE so only written extents are copied. The sim keeps no copy-on-write
accounting: a snapshot's `used` is 0 and its `referenced` the bytes its copy holds."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hvd_netconf.host.sim.commands import Fail, State, unknown
from hvd_netconf.host.sim.files import sparse_copy

DEFAULT_VOLBLOCKSIZE = 16 * 1024
# Linux file systems cap a file below 16 TiB (ext4) and Python's truncate below 8 EiB, while a
# sparse zvol can be up to 2^64 bytes: the stand-in file stops at 1 TiB.
ZVOL_FILE_MAX = 1 << 40
VOLSIZE_MAX = (1 << 64) - 1

_DS_COMPONENT = re.compile(r"[A-Za-z0-9_.:\- ]+")
_NATIVE_PROPS = {
    "mountpoint", "volmode", "compression", "refreservation", "canmount", "volsize",
    "volblocksize", "readonly", "atime",
}
_SIZE = re.compile(r"([0-9]+)([KMGTP]?)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def _size(text: str) -> int | None:
    m = _SIZE.fullmatch(text.strip().upper())
    return int(m.group(1)) * _UNITS[m.group(2)] if m else None


class Zfs:
    """The zfs commands (a part of SimHost, which keeps the dataset index and the replay flag)."""

    dir: Path  # the sim's own directory, ROOT/.sim
    zvol_dir: Path
    _replaying: bool
    _kids: dict[str, set[str]]

    if TYPE_CHECKING:  # provided by ZfsReplication (host/sim/zfs_replication.py)
        def _replication_commands(self) -> dict[str, Callable[
            [State, list[str], list[str], tuple[str, ...]], None]]: ...
        def _refuse_destroy_tree(self, st: State, name: str, tree: list[str]) -> None: ...
        def _refuse_destroy_snapshot(self, st: State, dataset: str, snap: str) -> None: ...
        def _forget_clone(self, st: State, gone: dict[str, Any], name: str) -> None: ...
        def _keep_for_bookmarks(self, st: State, dataset: str, snap: str) -> None: ...
        def _destroy_bookmark(self, st: State, name: str) -> None: ...

    if TYPE_CHECKING:  # provided by Files (host/sim/files.py)
        def _mount(self, st: State, name: str) -> None: ...
        def _mount_dir(self, st: State, name: str) -> Path | None: ...
        def _keep_files(self, st: State, dataset: str, snap: str) -> None: ...
        def _restore_files(self, st: State, dataset: str, snap: str) -> None: ...
        def _forget_files(self, dataset: str, snap: str) -> None: ...

    def zvol_file(self, dataset: str) -> Path:
        """The sparse file standing in for /dev/zvol/<dataset>."""
        return self.zvol_dir / dataset

    def _zfs(self, st: State, args: tuple[str, ...], out: list[str], argv: tuple[str, ...]) -> None:
        sub = args[0] if args else ""
        fn = {
            "create": self._zfs_create, "destroy": self._zfs_destroy, "set": self._zfs_set,
            "inherit": self._zfs_inherit, "get": self._zfs_get, "list": self._zfs_list,
            "snapshot": self._zfs_snapshot, "rollback": self._zfs_rollback,
            **self._replication_commands(),
        }.get(sub)
        if fn is None:
            unknown(argv)
        fn(st, list(args[1:]), out, argv)

    @staticmethod
    def _check_name(verb: str, name: str) -> None:
        if name.startswith("/"):
            raise Fail(f"cannot {verb} '{name}': leading slash in name")
        if any(not c for c in name.split("/")):
            raise Fail(f"cannot {verb} '{name}': empty component or misplaced '@' or '#' "
                        "delimiter in name")
        for comp in name.split("/"):
            if not _DS_COMPONENT.fullmatch(comp):
                bad = next(c for c in comp if not _DS_COMPONENT.fullmatch(c))
                raise Fail(f"cannot {verb} '{name}': invalid character '{bad}' in name")

    @staticmethod
    def _ds(st: State, name: str, verb: str = "open") -> dict[str, Any]:
        ds: dict[str, Any] | None = st["datasets"].get(name)
        if ds is None:
            raise Fail(f"cannot {verb} '{name}': dataset does not exist")
        return ds

    @staticmethod
    def _parse_opts(
        args: list[str], flags: str, with_value: str, argv: tuple[str, ...]
    ) -> tuple[set[str], dict[str, list[str]], list[str]]:
        seen: set[str] = set()
        values: dict[str, list[str]] = {}
        i = 0
        while i < len(args) and args[i].startswith("-") and len(args[i]) > 1:
            for j, ch in enumerate(args[i][1:]):
                if ch in flags:
                    seen.add(ch)
                elif ch in with_value:
                    rest = args[i][2 + j:]
                    if rest:
                        values.setdefault(ch, []).append(rest)
                    else:
                        i += 1
                        if i >= len(args):
                            raise Fail(f"missing argument for '-{ch}' option", 2)
                        values.setdefault(ch, []).append(args[i])
                    break
                else:
                    raise Fail(f"invalid option '{ch}'\nusage: {' '.join(argv[:2])} ...", 2)
            i += 1
        return seen, values, args[i:]

    def _zfs_create(self, st: State, args: list[str], out: list[str],
                    argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "ps", "Vbo", argv)
        if len(rest) != 1:
            raise Fail("missing filesystem argument" if not rest else "too many arguments", 2)
        name = rest[0]
        self._check_name("create", name)
        props = _props(vals, f"create '{name}'", _NATIVE_PROPS)
        volume = "V" in vals
        if "s" in flags and not volume:
            raise Fail("'-s' and '-b' can only be used when creating a volume", 2)
        if "b" in vals and not volume:
            raise Fail("'-s' and '-b' can only be used when creating a volume", 2)
        dsets = st["datasets"]
        if name in dsets:
            if "p" in flags:
                return
            raise Fail(f"cannot create '{name}': dataset already exists")
        pool = name.split("/")[0]
        if pool not in dsets:
            raise Fail(f"cannot create '{name}': no such pool '{pool}'")
        parent = name.rpartition("/")[0]
        missing: list[str] = []
        while parent and parent not in dsets:
            missing.append(parent)
            parent = parent.rpartition("/")[0]
        if missing and "p" not in flags:
            raise Fail(f"cannot create '{name}': parent does not exist")
        if dsets[parent]["type"] != "filesystem":
            raise Fail(f"cannot create '{name}': parent is not a filesystem")
        new: dict[str, Any] = {"type": "filesystem", "props": props}
        if volume:
            size = _size(vals["V"][-1])
            bs = _size(vals["b"][-1]) if "b" in vals else DEFAULT_VOLBLOCKSIZE
            if size is None or size == 0 or size > VOLSIZE_MAX:
                raise Fail(f"bad volume size '{vals['V'][-1]}'", 2)
            if bs is None or bs & (bs - 1) or not 512 <= bs <= 128 * 1024:
                raise Fail(f"cannot create '{name}': invalid volblocksize")
            size = -(-size // bs) * bs  # rounded up (docs/freebsd-facts.md §2.3)
            props.setdefault("volmode", "default")
            new = {"type": "volume", "props": {**props, "volsize": str(size),
                                               "volblocksize": str(bs)}}
            if "s" not in flags:
                new["props"].setdefault("refreservation", str(size))
                self._reserve(st, name, size)
        for m in reversed(missing):
            dsets[m] = {"type": "filesystem", "props": {}}
            self._adopt(m)
        dsets[name] = new
        self._adopt(name)
        if new["type"] == "filesystem":
            self._mount(st, name)
        if volume:
            assert size is not None  # checked above: a volume has a size
            self._resize_zvol(name, size)

    @staticmethod
    def _reserve(st: State, name: str, size: int) -> None:
        """A thick volume reserves its size in its pool: more than the pool has left is refused
        as ZFS refuses it (docs/freebsd-facts.md §2.3); a sparse one reserves nothing."""
        pool = name.split("/")[0]
        capacity = st.get("pool-size", {}).get(pool)  # none in a state from before it
        if capacity is None:
            return
        taken = sum(int(ds["props"].get("refreservation", 0))
                    for n, ds in st["datasets"].items() if n.split("/")[0] == pool)
        if taken + size > capacity:
            raise Fail(f"cannot create '{name}': out of space")

    def _adopt(self, name: str) -> None:
        """Index a new dataset under its parent: -r costs its subtree, not the whole pool."""
        self._kids.setdefault(name.rpartition("/")[0], set()).add(name)

    def _descendants(self, name: str) -> list[str]:
        out: list[str] = []
        todo = [name]
        while todo:
            kids = self._kids.get(todo.pop(), ())
            out += kids
            todo += kids
        return sorted(out)

    def _resize_zvol(self, name: str, size: int) -> None:
        """The stand-in device file: sparse, and no longer than ZVOL_FILE_MAX (a zvol's size is
        metadata, as on ZFS; the volsize property says how big it is)."""
        if self._replaying:
            return
        path = self.zvol_file(name)
        try:
            f = open(path, "ab")  # noqa: SIM115 - closed below; its folder is made once
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            f = open(path, "ab")  # noqa: SIM115
        with f:
            f.truncate(min(size, ZVOL_FILE_MAX))

    def _zfs_destroy(self, st: State, args: list[str], out: list[str],
                     argv: tuple[str, ...]) -> None:
        flags, _vals, rest = self._parse_opts(args, "rRf", "", argv)
        if len(rest) != 1:
            raise Fail("missing dataset argument" if not rest else "too many arguments", 2)
        name = rest[0]
        if "@" in name:
            self._destroy_snapshot(st, name, "r" in flags)
            return
        if "#" in name:
            self._destroy_bookmark(st, name)
            return
        self._check_name("open", name)
        self._ds(st, name)
        children = self._descendants(name)
        if not flags & {"r", "R"}:  # a dataset's snapshots are children too (zfs-destroy(8))
            children = [*(f"{name}@{s}" for s in st["datasets"][name].get("snaps", {})),
                        *children]
        if children and not flags & {"r", "R"}:
            raise Fail(f"cannot destroy '{name}': filesystem has children\n"
                        "use '-r' to destroy the following datasets:\n" + "\n".join(children))
        self._refuse_destroy_tree(st, name, [name, *children])
        if "/" not in name:
            raise Fail(f"cannot destroy '{name}': operation does not apply to pools\n"
                        "use 'zfs destroy -r' to destroy all datasets in the pool\n"
                        "use 'zpool destroy' to destroy the pool itself")
        self._kids[name.rpartition("/")[0]].discard(name)
        for d in [*reversed(children), name]:
            self._remove_files(st, d)
        for d in [*children, name]:
            self._kids.pop(d, None)
            gone = st["datasets"].pop(d)
            self._forget_clone(st, gone, d)
            if gone["type"] == "volume" and not self._replaying:
                self.zvol_file(d).unlink(missing_ok=True)
                for snap in gone.get("snaps", {}):
                    self.zvol_file(f"{d}@{snap}").unlink(missing_ok=True)

    def _remove_files(self, st: State, name: str) -> None:
        """A destroyed filesystem's files go with it, as its mount does on FreeBSD (zfs(8)
        destroy unmounts the dataset and removes its mountpoint directory). The sim holds
        those files under its root; it touches nothing outside that root, nor its own
        directory."""
        if self._replaying or st["datasets"][name]["type"] != "filesystem":
            return
        for snap in st["datasets"][name].get("snaps", {}):
            self._forget_files(name, snap)
        path = self._mount_dir(st, name)
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)

    def _zfs_set(self, st: State, args: list[str], out: list[str],
                 argv: tuple[str, ...]) -> None:
        if len(args) < 2 or "=" not in args[0]:
            raise Fail("missing property=value argument(s)\nusage: zfs set ...", 2)
        key, _, value = args[0].partition("=")
        for name in args[1:]:
            self._check_name("open", name)
            ds = self._ds(st, name)
            if key not in _NATIVE_PROPS and ":" not in key:
                raise Fail(f"cannot set property for '{name}': invalid property '{key}'")
            if key == "volblocksize":
                raise Fail(f"cannot set property for '{name}': 'volblocksize' is readonly")
            if key == "volsize":
                if ds["type"] != "volume":
                    raise Fail(f"cannot set property for '{name}': 'volsize' does not apply "
                                "to datasets of this type")
                size = _size(value)
                if not size:
                    raise Fail(f"cannot set property for '{name}': bad numeric value "
                                f"'{value}'")
                if size % int(ds["props"]["volblocksize"]):
                    raise Fail(f"cannot set property for '{name}': 'volsize' must be a "
                                "multiple of volume block size")
                value = str(size)
                self._resize_zvol(name, size)
            ds["props"][key] = value

    def _zfs_inherit(self, st: State, args: list[str], out: list[str],
                     argv: tuple[str, ...]) -> None:
        if len(args) != 2:
            raise Fail("usage: zfs inherit [-rS] <property> <filesystem|volume|snapshot> ...", 2)
        prop, name = args
        self._check_name("open", name)
        self._ds(st, name)["props"].pop(prop, None)

    def _value(self, st: State, name: str, prop: str, local_only: bool) -> tuple[str, str]:
        """(value, source) of one property, following inheritance for user properties."""
        ds = st["datasets"][name]
        if prop == "name":
            return name, "-"
        if prop == "type":
            return ds["type"], "-"
        if prop in ds["props"]:
            return ds["props"][prop], "local"
        if prop in ("used", "referenced") and ds["type"] == "volume" and not local_only:
            return str(self._allocated(name, None)), "-"  # the written extents; no COW
        if local_only:
            return "-", "-"
        if ":" in prop or prop == "mountpoint":
            parent = name.rpartition("/")[0]
            while parent:
                pprops = st["datasets"][parent]["props"]
                if prop in pprops:
                    if prop == "mountpoint":
                        if ds["type"] == "volume":
                            return "-", "-"
                        return pprops[prop].rstrip("/") + name[len(parent):], "inherited"
                    return pprops[prop], f"inherited from {parent}"
                parent = parent.rpartition("/")[0]
            if prop == "mountpoint" and ds["type"] == "filesystem":
                return "/" + name, "default"
        return "-", "-"

    def _zfs_get(self, st: State, args: list[str], out: list[str],
                 argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "Hpr", "so", argv)
        if "H" not in flags or len(rest) != 2:
            unknown(argv)
        props, top = rest[0].split(","), rest[1]
        self._check_name("open", top)
        self._ds(st, top)
        sources = ",".join(vals.get("s", [])).split(",") if "s" in vals else None
        if sources is not None and sources != ["local"]:
            unknown(argv)
        cols = ",".join(vals.get("o", ["name,property,value,source"])).split(",")
        for name in [top, *(self._descendants(top) if "r" in flags else ())]:
            snaps = st["datasets"][name].get("snaps", {}) if "r" in flags else {}
            for prop, snap in [(p, None) for p in props] + [
                    (p, s) for s in snaps for p in props]:
                if snap is None:
                    value, source = self._value(st, name, prop, sources == ["local"])
                elif prop in snaps[snap]["props"]:
                    value, source = snaps[snap]["props"][prop], "local"
                else:  # a snapshot inherits its dataset's user properties (zfsprops(7))
                    value, source = self._value(st, name, prop, False)
                    source = f"inherited from {name}" if source == "local" else source
                    if sources == ["local"]:
                        value, source = "-", "-"
                label = name if snap is None else f"{name}@{snap}"
                if sources == ["local"] and source != "local" and "r" in flags:
                    continue  # -s local lists only the datasets that set it themselves
                row = {"name": label, "property": prop, "value": value, "source": source}
                out.append("\t".join(row[c] for c in cols) + "\n")

    def _zfs_list(self, st: State, args: list[str], out: list[str],
                  argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "Hpr", "tosd", argv)
        types = ",".join(vals.get("t", ["filesystem,volume"])).split(",")
        cols = ",".join(vals.get("o", ["name"])).split(",")
        names: list[str] = []
        # -d N: N levels below each named dataset, a snapshot one below its dataset
        depth = {}
        for root in rest or sorted(self._kids.get("", ())):
            self._check_name("open", root)
            self._ds(st, root)
            names.append(root)
            depth[root] = 0
            if "r" in flags or "d" in vals or not rest:
                for d in self._descendants(root):
                    names.append(d)
                    depth[d] = d.count("/") - root.count("/")
        limit = int(vals["d"][-1]) if "d" in vals else None
        if limit is not None:
            names = [n for n in names if depth[n] <= limit]
        if vals.get("s") not in (None, ["createtxg"]):
            unknown(argv)
        for name in sorted(set(names)):
            if "snapshot" in types and (limit is None or depth[name] < limit):
                for snap, rec in st["datasets"][name].get("snaps", {}).items():
                    row = {**{c: self._value(st, name, c, False)[0] for c in cols if ":" in c},
                           **rec["props"], "name": f"{name}@{snap}",
                           "creation": str(rec["creation"]), "used": "0",
                           "referenced": str(self._allocated(name, snap))}
                    out.append("\t".join(row.get(c, "-") for c in cols) + "\n")
            if "bookmark" in types:
                out += [f"{name}#{bm}\n" for bm in st["datasets"][name].get("bookmarks", {})]
            if st["datasets"][name]["type"] not in types:
                continue
            out.append("\t".join(self._value(st, name, c, False)[0] for c in cols) + "\n")

    def _snapshots(self, st: State, full: str, verb: str) -> tuple[str, str, dict[str, Any]]:
        """(dataset, snapshot name, the dataset's snapshots) of `ds@snap`, checked."""
        dataset, _, snap = full.partition("@")
        if not snap or "@" in snap or not _DS_COMPONENT.fullmatch(snap):
            raise Fail(f"cannot {verb} '{full}': invalid character in snapshot name")
        self._check_name(verb, dataset)
        return dataset, snap, self._ds(st, dataset, verb).setdefault("snaps", {})

    def _zfs_snapshot(self, st: State, args: list[str], out: list[str],
                      argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "r", "o", argv)
        if not rest:
            raise Fail("missing snapshot argument", 2)
        props = _props(vals, f"create snapshot '{rest[0]}'", set())
        todo: list[tuple[str, str]] = []
        for full in rest:  # every snapshot is checked first: all are made, or none
            dataset, snap, _snaps = self._snapshots(st, full, "create snapshot")
            for ds in [dataset, *(self._descendants(dataset) if "r" in flags else ())]:
                if snap in st["datasets"][ds].get("snaps", {}):
                    raise Fail(f"cannot create snapshot '{ds}@{snap}': dataset already exists")
                todo.append((ds, snap))
        for ds, snap in todo:  # a dataset's snapshots are kept in creation order
            st["datasets"][ds].setdefault("snaps", {})[snap] = {
                "props": dict(props), "creation": int(time.time())}
            if st["datasets"][ds]["type"] == "volume" and not self._replaying:
                sparse_copy(self.zvol_file(ds), self.zvol_file(f"{ds}@{snap}"))
            elif st["datasets"][ds]["type"] == "filesystem":
                self._keep_files(st, ds, snap)

    def _zfs_rollback(self, st: State, args: list[str], out: list[str],
                      argv: tuple[str, ...]) -> None:
        flags, _vals, rest = self._parse_opts(args, "rRf", "", argv)
        if len(rest) != 1:
            raise Fail("missing dataset argument" if not rest else "too many arguments", 2)
        full = rest[0]
        dataset, snap, snaps = self._snapshots(st, full, "open")
        if snap not in snaps:
            raise Fail(f"cannot open '{full}': dataset does not exist")
        names = list(snaps)
        newer = names[names.index(snap) + 1:]
        if newer and not flags & {"r", "R"}:
            raise Fail(f"cannot rollback to '{full}': more recent snapshots or bookmarks exist\n"
                       "use '-r' to force deletion of the following snapshots and bookmarks:\n"
                       + "\n".join(f"{dataset}@{n}" for n in newer))
        for n in newer:
            self._drop_snapshot(st, dataset, n)
        if st["datasets"][dataset]["type"] == "volume" and not self._replaying:
            sparse_copy(self.zvol_file(f"{dataset}@{snap}"), self.zvol_file(dataset))
        elif st["datasets"][dataset]["type"] == "filesystem":
            self._restore_files(st, dataset, snap)

    def _destroy_snapshot(self, st: State, full: str, recursive: bool) -> None:
        dataset, snap, _snaps = self._snapshots(st, full, "open")
        found = [ds for ds in [dataset, *(self._descendants(dataset) if recursive else ())]
                 if snap in st["datasets"][ds].get("snaps", {})]
        if not found:
            raise Fail("could not find any snapshots to destroy; check snapshot names.")
        for ds in found:
            self._refuse_destroy_snapshot(st, ds, snap)
        for ds in found:
            self._drop_snapshot(st, ds, snap)

    def _drop_snapshot(self, st: State, dataset: str, snap: str) -> None:
        self._keep_for_bookmarks(st, dataset, snap)
        del st["datasets"][dataset]["snaps"][snap]
        if not self._replaying:
            self.zvol_file(f"{dataset}@{snap}").unlink(missing_ok=True)
        self._forget_files(dataset, snap)

    def _allocated(self, dataset: str, snap: str | None) -> int:
        """Bytes the stand-in file of a zvol (or of its snapshot) has written."""
        try:
            name = dataset if snap is None else f"{dataset}@{snap}"
            return self.zvol_file(name).stat().st_blocks * 512
        except FileNotFoundError:
            return 0


def _props(vals: dict[str, list[str]], doing: str, native: set[str]) -> dict[str, str]:
    """The -o property=value arguments: user properties (module:name) and the native ones."""
    props: dict[str, str] = {}
    for kv in vals.get("o", []):
        key, sep, value = kv.partition("=")
        if not sep:
            raise Fail(f"missing '=' for property=value argument '{kv}'", 2)
        if ":" not in key and key not in native:
            raise Fail(f"cannot {doing}: invalid property '{key}'")
        props[key] = value
    return props
