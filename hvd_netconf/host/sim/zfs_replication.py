"""zfs send, receive, clone, bookmark and hold as the sim runs them.

A stream is the sim's own format, not ZFS's: a magic line, a JSON header, then one section
per snapshot (a JSON line, then records W offset length data / F offset length, then N), and
a SHA-256 of everything before it. It carries a volume's bytes, so a receive gives back
exactly what was sent, and the receiver checks what ZFS checks: the incremental base is the
target's newest snapshot (by guid), a full stream does not land on an existing dataset
without -F, a cut or altered stream fails the checksum. An incremental stream holds the
16 KiB blocks (the default volblocksize) that differ from its base; a bookmark keeps its
snapshot's bytes in place of ZFS's birth times (the snapshot's file, linked as
`<dataset>#<name>` when the snapshot is destroyed), read only as the base of an incremental
send, so it can be one once the snapshot is gone.

The refusals use zfs's words (docs/freebsd-facts.md §2.6). Streams move only through
`SimHost.pipe` (host/stream.py's interface); `zfs send` run alone answers only `-n -P`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.commands import Fail, State, unknown
from hvd_netconf.host.sim.files import sparse_copy

MAGIC = b"HVDSIM-ZFS-STREAM 1\n"
RESUME_PROP = "receive_resume_token"
BLOCK = 16 * 1024  # the default volblocksize (docs/freebsd-facts.md §2.3)
_W = struct.Struct(">QI")
_F = struct.Struct(">QQ")
_SECTION = struct.Struct(">I")

Handler = Callable[[State, list[str], list[str], tuple[str, ...]], None]


def _guid(dataset: str, snap: str, rec: dict[str, Any]) -> str:
    """A snapshot's guid: the one it was received with, else one derived from where and when
    it was taken (the sim keeps no other)."""
    guid: str | None = rec.get("guid")
    if guid is None:
        guid = hashlib.sha256(f"{dataset}@{snap}/{rec['creation']}".encode()).hexdigest()[:16]
    return guid


def _extents(path: Path) -> list[tuple[int, int]]:
    """The data extents of a sparse file, by SEEK_DATA/SEEK_HOLE."""
    out: list[tuple[int, int]] = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        pos = 0
        while pos < size:
            try:
                start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            out.append((start, end))
            pos = end
    return out


def _blocks(path: Path) -> set[int]:
    return {i for start, end in _extents(path) for i in range(start // BLOCK, -(-end // BLOCK))}


def _read_block(f: Any, idx: int) -> bytes:
    f.seek(idx * BLOCK)
    data: bytes = f.read(BLOCK)
    return data


class _Reader:
    """Exactly n bytes at a time from the chunks of a stream, hashing all it hands out."""

    def __init__(self, chunks: Iterator[bytes], incomplete: str) -> None:
        self._chunks = chunks
        self._buf = bytearray()
        self._incomplete = incomplete
        self.sha = hashlib.sha256()
        self.eof = False  # the stream ended early (cut), not a bad byte

    def read(self, n: int, *, hashed: bool = True) -> bytes:
        while len(self._buf) < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                self.eof = True
                raise Fail(self._incomplete)
            self._buf += chunk
        out = bytes(self._buf[:n])
        del self._buf[:n]
        if hashed:
            self.sha.update(out)
        return out

    def line(self) -> bytes:
        (n,) = _SECTION.unpack(self.read(_SECTION.size))
        return self.read(n)


class ZfsReplication:
    """The sim's streams, clones, bookmarks and holds (a part of SimHost)."""

    _replaying: bool
    _st: State
    _kids: dict[str, set[str]]

    if TYPE_CHECKING:  # provided by Zfs, PersistedState, Faults and SimHost
        def _zfs(self, st: State, args: tuple[str, ...], out: list[str],
                 argv: tuple[str, ...]) -> None: ...
        def zvol_file(self, dataset: str) -> Path: ...
        def _adopt(self, name: str) -> None: ...
        def _check_name(self, verb: str, name: str) -> None: ...
        def _locked(self) -> AbstractContextManager[None]: ...
        def _refresh(self) -> None: ...
        def _log(self, entry: dict[str, Any]) -> None: ...
        def _take_fault(self, argv: tuple[str, ...]) -> dict[str, Any] | None: ...
        def _faults(self) -> list[dict[str, Any]]: ...
        def _write(self, path: Path, data: object) -> None: ...
        faults_path: Path
        def _drop_snapshot(self, st: State, dataset: str, snap: str) -> None: ...

        @staticmethod
        def _parse_opts(args: list[str], flags: str, with_value: str, argv: tuple[str, ...]
                        ) -> tuple[set[str], dict[str, list[str]], list[str]]: ...

        @staticmethod
        def _ds(st: State, name: str, verb: str = "open") -> dict[str, Any]: ...

    def _ssh(self, st: State, args: tuple[str, ...], out: list[str],
             argv: tuple[str, ...]) -> None:
        """`ssh ... user@host zfs ...`: the sim has no other host, so the zfs command runs on
        this one (tests show the remote argv; a real ssh target is not simulated)."""
        zfs = _remote(argv)
        self._zfs(st, zfs[1:], out, zfs)

    def cut_stream(self, argv_prefix: Sequence[str], *, after: int) -> None:
        """The next stream from a producer starting with argv_prefix stops after `after`
        bytes, as when the sender is killed: the receiver sees it end early."""
        with self._locked():
            faults = self._faults()
            faults.append({"prefix": list(argv_prefix), "stderr": "", "code": 1, "once": True,
                           "spawn_error": False, "cut_after": after})
            self._write(self.faults_path, faults)

    def _replication_commands(self) -> dict[str, Handler]:
        return {"clone": self._zfs_clone, "bookmark": self._zfs_bookmark,
                "hold": self._zfs_hold, "release": self._zfs_release, "rename": self._zfs_rename,
                "send": self._zfs_send_estimate, "receive": self._zfs_receive_abort}

    # -- the checks zfs destroy makes ---------------------------------------------------------

    def _refuse_destroy_snapshot(self, st: State, dataset: str, snap: str) -> None:
        rec = st["datasets"][dataset]["snaps"][snap]
        if rec.get("holds"):
            raise Fail(f"cannot destroy snapshot {dataset}@{snap}: dataset is busy")
        clones = rec.get("clones", [])
        if clones:
            raise Fail(f"cannot destroy '{dataset}@{snap}': snapshot has dependent clones\n"
                       "use '-R' to destroy the following datasets:\n" + "\n".join(clones))

    def _refuse_destroy_tree(self, st: State, name: str, tree: list[str]) -> None:
        going = set(tree)
        clones = [c for d in tree for rec in st["datasets"][d].get("snaps", {}).values()
                  for c in rec.get("clones", []) if c not in going]
        if clones:
            raise Fail(f"cannot destroy '{name}': filesystem has dependent clones\n"
                       "use '-R' to destroy the following datasets:\n" + "\n".join(clones))
        for d in tree:
            for snap, rec in st["datasets"][d].get("snaps", {}).items():
                if rec.get("holds"):
                    raise Fail(f"cannot destroy snapshot {d}@{snap}: dataset is busy")

    def _forget_clone(self, st: State, gone: dict[str, Any], name: str) -> None:
        """A destroyed clone no longer pins its origin snapshot; a destroyed dataset's
        bookmarks go with it."""
        if not self._replaying:
            for bm in gone.get("bookmarks", {}):
                self.zvol_file(f"{name}#{bm}").unlink(missing_ok=True)
        origin = gone.get("origin")
        if origin:
            ds, _, snap = origin.partition("@")
            rec = st["datasets"].get(ds, {}).get("snaps", {}).get(snap)
            if rec is not None and name in rec.get("clones", []):
                rec["clones"].remove(name)

    # -- clone, bookmark, hold ----------------------------------------------------------------

    def _snapshot_rec(self, st: State, full: str) -> tuple[str, str, dict[str, Any]]:
        dataset, _, snap = full.partition("@")
        rec = st["datasets"].get(dataset, {}).get("snaps", {}).get(snap) if snap else None
        if rec is None:
            raise Fail(f"cannot open '{full}': dataset does not exist")
        return dataset, snap, rec

    def _zfs_clone(self, st: State, args: list[str], out: list[str],
                   argv: tuple[str, ...]) -> None:
        _flags, vals, rest = self._parse_opts(args, "p", "o", argv)
        if len(rest) != 2:
            raise Fail("missing source dataset argument" if not rest else
                       "missing target dataset argument" if len(rest) == 1 else
                       "too many arguments", 2)
        src, target = rest
        dataset, _snap, rec = self._snapshot_rec(st, src)
        self._check_name("create", target)
        if target in st["datasets"]:
            raise Fail(f"cannot create '{target}': dataset already exists")
        if target.rpartition("/")[0] not in st["datasets"]:
            raise Fail(f"cannot create '{target}': parent does not exist")
        origin = st["datasets"][dataset]
        props = {k: v for k, v in origin["props"].items()
                 if k in ("volsize", "volblocksize", "volmode", "compression")}
        for kv in vals.get("o", []):
            key, sep, value = kv.partition("=")
            if not sep:
                raise Fail(f"missing '=' for property=value argument '{kv}'", 2)
            props[key] = value
        st["datasets"][target] = {"type": origin["type"], "props": props, "origin": src}
        self._adopt(target)
        rec.setdefault("clones", []).append(target)
        if origin["type"] == "volume" and not self._replaying:
            _copy(self.zvol_file(src), self.zvol_file(target))

    def _zfs_bookmark(self, st: State, args: list[str], out: list[str],
                      argv: tuple[str, ...]) -> None:
        if len(args) != 2 or "#" not in args[1]:
            raise Fail("usage: zfs bookmark <snapshot|bookmark> <newbookmark>", 2)
        dataset, snap, rec = self._snapshot_rec(st, args[0])
        bm_ds, _, bm = args[1].partition("#")
        if bm_ds != dataset:
            raise Fail(f"cannot create bookmark '{args[1]}': must be in same dataset")
        marks = st["datasets"][dataset].setdefault("bookmarks", {})
        if bm in marks:
            raise Fail(f"cannot create bookmark '{args[1]}': bookmark exists")
        marks[bm] = {"guid": _guid(dataset, snap, rec), "creation": rec["creation"],
                     "file": args[0]}

    def _zfs_rename(self, st: State, args: list[str], out: list[str],
                    argv: tuple[str, ...]) -> None:
        """`zfs rename OLD NEW` of a volume (what hvd renames), with its snapshots and
        bookmarks, in zfs-rename(8)'s words where it refuses."""
        if len(args) != 2 or args[0].startswith("-"):
            unknown(argv)
        old, new = args
        dsets = st["datasets"]
        if old not in dsets:
            raise Fail(f"cannot open '{old}': dataset does not exist")
        if dsets[old]["type"] != "volume" or any(
                r.get("clones") for r in dsets[old].get("snaps", {}).values()):
            unknown(argv)
        if new in dsets:
            raise Fail(f"cannot rename to '{new}': dataset already exists")
        parent = new.rpartition("/")[0]
        if parent not in dsets:
            raise Fail(f"cannot rename to '{new}': parent does not exist")
        if old.split("/")[0] != new.split("/")[0]:
            raise Fail(f"cannot rename to '{new}': datasets must be within same pool")
        rec = dsets[new] = dsets.pop(old)
        self._kids[old.rpartition("/")[0]].discard(old)
        self._adopt(new)
        if self._replaying:
            return
        moves = [(old, new), *((f"{old}@{s}", f"{new}@{s}") for s in rec.get("snaps", {})),
                 *((f"{old}#{b}", f"{new}#{b}") for b in rec.get("bookmarks", {}))]
        for a, b in moves:
            if self.zvol_file(a).exists():
                os.replace(self.zvol_file(a), self.zvol_file(b))
        for mark in rec.get("bookmarks", {}).values():
            mark["file"] = mark["file"].replace(old, new, 1)

    def _destroy_bookmark(self, st: State, name: str) -> None:
        """`zfs destroy DATASET#BOOKMARK` (zfs-destroy(8)); the bytes it kept go with it."""
        dataset, _, bm = name.partition("#")
        marks = st["datasets"].get(dataset, {}).get("bookmarks", {})
        if bm not in marks:
            raise Fail(f"bookmark '{name}' does not exist.")
        mark = marks.pop(bm)
        if mark.get("file") == name and not self._replaying:
            self.zvol_file(name).unlink(missing_ok=True)

    def _keep_for_bookmarks(self, st: State, dataset: str, snap: str) -> None:
        """A snapshot about to go: its bookmarks keep its bytes under their own name."""
        for bm, mark in st["datasets"][dataset].get("bookmarks", {}).items():
            if mark.get("file") == f"{dataset}@{snap}":
                mark["file"] = f"{dataset}#{bm}"
                if not self._replaying and self.zvol_file(f"{dataset}@{snap}").exists():
                    self.zvol_file(mark["file"]).unlink(missing_ok=True)
                    os.link(self.zvol_file(f"{dataset}@{snap}"), self.zvol_file(mark["file"]))

    def _holds(self, st: State, args: list[str], argv: tuple[str, ...]
               ) -> Iterator[tuple[str, dict[str, Any]]]:
        flags, _vals, rest = self._parse_opts(args, "r", "", argv)
        if len(rest) < 2:
            raise Fail("missing tag or snapshot argument", 2)
        tag, snaps = rest[0], rest[1:]
        for full in snaps:
            dataset, snap, _rec = self._snapshot_rec(st, full)
            names = [dataset] + ([d for d in st["datasets"] if d.startswith(dataset + "/")]
                                 if "r" in flags else [])
            for d in names:
                rec = st["datasets"][d].get("snaps", {}).get(snap)
                if rec is not None:
                    yield tag, rec

    def _zfs_hold(self, st: State, args: list[str], out: list[str],
                  argv: tuple[str, ...]) -> None:
        for tag, rec in list(self._holds(st, args, argv)):
            if tag in rec.setdefault("holds", []):
                raise Fail("cannot hold snapshot: tag already exists on this dataset")
            rec["holds"].append(tag)

    def _zfs_release(self, st: State, args: list[str], out: list[str],
                     argv: tuple[str, ...]) -> None:
        for tag, rec in list(self._holds(st, args, argv)):
            if tag not in rec.get("holds", []):
                raise Fail("cannot release hold from snapshot: no such tag on this dataset")
            rec["holds"].remove(tag)

    # -- send ---------------------------------------------------------------------------------

    def _plan_send(self, st: State, args: list[str], argv: tuple[str, ...]
                   ) -> tuple[dict[str, Any], list[dict[str, Any]], set[str]]:
        """(header, sections, flags) of a `zfs send`, every check made before a byte goes."""
        if "-t" in args:  # the rest of an interrupted stream, from where its token says
            token = args[args.index("-t") + 1] if args.index("-t") + 1 < len(args) else ""
            try:
                where = json.loads(base64.urlsafe_b64decode(token.partition("-")[2]))
            except ValueError:
                raise Fail("cannot resume send: resume token is corrupt") from None
            planned = self._plan_send(st, where["send"], argv)
            planned[0]["resume"] = {"section": where["section"], "offset": where["offset"],
                                    "token": token}
            return planned
        flags, vals, rest = self._parse_opts(args, "nPLecwpv", "iI", argv)
        if len(rest) != 1:
            raise Fail("missing snapshot argument" if not rest else "too many arguments", 2)
        dataset, snap, rec = self._snapshot_rec(st, rest[0])
        ds = st["datasets"][dataset]
        snaps = list(ds.get("snaps", {}))
        header: dict[str, Any] = {
            "type": ds["type"], "volsize": ds["props"].get("volsize"),
            "volblocksize": ds["props"].get("volblocksize"), "raw": "w" in flags,
            "base": None, "send": args}
        bases = vals.get("i") or vals.get("I") or []
        chain = [snap]
        if bases:
            base_arg = bases[-1]
            if base_arg[0] in "@#":
                base_arg = dataset + base_arg
            base_ds, sep, base = base_arg.partition("#" if "#" in base_arg else "@")
            if base_ds != dataset:
                raise Fail(f"cannot send '{rest[0]}': incremental source must be in same "
                           "filesystem")
            if sep == "#":
                if "I" in vals:
                    raise Fail(f"cannot send '{rest[0]}': -I requires a snapshot as the "
                               "incremental source", 2)
                mark = ds.get("bookmarks", {}).get(base)
                if mark is None:
                    raise Fail(f"cannot open '{base_arg}': dataset does not exist")
                if mark["creation"] > rec["creation"]:
                    raise Fail(f"cannot send '{rest[0]}': not an earlier snapshot from the "
                               "same fs")
                header["base"] = {"guid": mark["guid"], "snapshot": mark["file"]}
            else:
                _d, _s, base_rec = self._snapshot_rec(st, base_arg)
                if snaps.index(base) >= snaps.index(snap):
                    raise Fail(f"cannot send '{rest[0]}': not an earlier snapshot from the "
                               "same fs")
                header["base"] = {"guid": _guid(dataset, base, base_rec), "snapshot": base_arg}
                if "I" in vals:
                    chain = snaps[snaps.index(base) + 1:snaps.index(snap) + 1]
        sections = []
        for index, name in enumerate(chain):
            r = ds["snaps"][name]
            sections.append({"snap": name, "guid": _guid(dataset, name, r), "index": index,
                             "creation": r["creation"], "file": f"{dataset}@{name}"})
        return header, sections, flags

    def _stream(self, st: State, header: dict[str, Any], sections: list[dict[str, Any]]
                ) -> Iterator[bytes]:
        """The bytes of a planned send: each section against the one before (or the base)."""
        sha = hashlib.sha256()

        def out(data: bytes) -> bytes:
            sha.update(data)
            return data

        yield out(MAGIC + json.dumps(header).encode() + b"\n")
        base = header["base"]
        prev: str | None = base["snapshot"] if base else None  # a bookmark's copy alike
        resume = header.get("resume") or {"section": 0, "offset": 0}
        for sec in sections:
            if sec["index"] < resume["section"]:
                prev = sec["file"]
                continue  # received before the stream was cut
            skip = resume["offset"] if sec["index"] == resume["section"] else 0
            meta = json.dumps({k: sec[k] for k in ("snap", "guid", "creation", "index")}
                              ).encode()
            yield out(b"S" + _SECTION.pack(len(meta)) + meta)
            if header["type"] == "volume":
                older = self.zvol_file(prev) if prev else None
                for rec in self._records(self.zvol_file(sec["file"]), older, skip):
                    yield out(rec)
            yield out(b"N")
            prev = sec["file"]
        yield out(b"E") + sha.digest()  # the E is hashed, then the digest follows

    @staticmethod
    def _records(to: Path, base: Path | None, skip: int = 0) -> Iterator[bytes]:
        """The records from `to` against `base`, those at or past offset `skip` (a resume)."""
        with open(to, "rb") as f:
            if base is None:  # full: every written extent
                for start, end in _extents(to):
                    pos = start
                    while pos < end:
                        n = min(end - pos, 1 << 20)
                        if pos >= skip:
                            f.seek(pos)
                            data = f.read(n)
                            yield b"W" + _W.pack(pos, len(data)) + data
                        pos += n
                return
            mine = _blocks(to)
            with open(base, "rb") as b:
                for i in sorted(i for i in mine | _blocks(base) if i * BLOCK >= skip):
                    data, old = _read_block(f, i), _read_block(b, i)
                    if data == old:
                        continue
                    if i in mine:
                        yield b"W" + _W.pack(i * BLOCK, len(data)) + data
                    else:
                        yield b"F" + _F.pack(i * BLOCK, BLOCK)

    def _estimate(self, header: dict[str, Any], sections: list[dict[str, Any]]) -> int:
        """The stream's size without reading its data, as `zfs send -n -P` estimates from
        metadata: exact for a full stream, for an incremental one every block either side
        holds (the blocks that did not change are counted too)."""
        size = len(MAGIC) + len(json.dumps(header).encode()) + 1 + 1 + 32
        prev = header["base"]["snapshot"] if header["base"] else None
        for sec in sections:
            meta = json.dumps({k: sec[k] for k in ("snap", "guid", "creation")}).encode()
            size += 1 + _SECTION.size + len(meta) + 1
            if header["type"] == "volume":
                to = self.zvol_file(sec["file"])
                if prev is None:
                    for start, end in _extents(to):
                        size += (end - start) + (1 + _W.size) * -(-(end - start) // (1 << 20))
                else:
                    blocks = _blocks(to) | _blocks(self.zvol_file(prev))
                    size += len(blocks) * (1 + _W.size + BLOCK)
            prev = sec["file"]
        return size

    def _zfs_send_estimate(self, st: State, args: list[str], out: list[str],
                           argv: tuple[str, ...]) -> None:
        if "-t" in args:
            raise Fail("hvd sim: resumable sends (-t) are not simulated", 127)
        header, sections, flags = self._plan_send(st, args, argv)
        if not {"n", "P"} <= flags:
            raise Fail("hvd sim: a zfs send stream moves only through the host's pipe", 127)
        size = self._estimate(header, sections)
        kind = "incremental" if header["base"] else "full"
        out.append(f"{kind}\t{sections[-1]['file']}\t{size}\nsize\t{size}\n")

    # -- receive ------------------------------------------------------------------------------

    def _zfs_receive_abort(self, st: State, args: list[str], out: list[str],
                           argv: tuple[str, ...]) -> None:
        if args[:1] != ["-A"] or len(args) != 2:
            raise Fail("hvd sim: a zfs receive stream comes only through the host's pipe", 127)
        target = args[1]
        ds = st["datasets"].get(target)
        if ds is None or RESUME_PROP not in ds["props"]:
            raise Fail(f"'{target}' does not have any resumable receive state to abort")
        del ds["props"][RESUME_PROP]
        if not self._replaying:
            self.zvol_file(target).with_name(self.zvol_file(target).name + ".partial").unlink(
                missing_ok=True)
        if ds.pop("partial-new", False):  # a full receive cut short: nothing else is there
            del st["datasets"][target]
            self._kids.get(target.rpartition("/")[0], set()).discard(target)

    def _receive(self, st: State, args: list[str], argv: tuple[str, ...],
                 chunks: Iterator[bytes]) -> dict[str, Any] | None:
        """Read a stream into target; return what the state log must replay (None with -n)."""
        flags, vals, rest = self._parse_opts(args, "nsuFvd", "o", argv)
        if len(rest) != 1:
            raise Fail("missing snapshot argument" if not rest else "too many arguments", 2)
        target = rest[0]
        self._check_name("receive", target)
        head = next(chunks, b"")
        if not head.startswith(MAGIC):
            raise Fail("cannot receive: invalid stream (bad magic number)")
        first, _, body = head[len(MAGIC):].partition(b"\n")
        header = json.loads(first)
        incremental = header["base"] is not None
        what = "incremental stream" if incremental else "new filesystem stream"
        reader = _Reader(iter([body, *chunks]), f"cannot receive {what}: checksum mismatch or "
                         "incomplete stream")
        reader.sha.update(head[:len(MAGIC) + len(first) + 1])
        dsets = st["datasets"]
        existing = dsets.get(target)
        rollback_to: str | None = None
        resume = header.get("resume")
        partial = self.zvol_file(target).with_name(self.zvol_file(target).name + ".partial")
        if resume is not None:
            if existing is None or existing["props"].get(RESUME_PROP) != resume["token"]:
                raise Fail(f"cannot receive resume stream: destination '{target}' has no "
                           "partially received state for this token")
        elif existing is not None and RESUME_PROP in existing["props"]:
            raise Fail(f"cannot receive {what}: destination {target} contains partially-"
                       "complete state from \"zfs receive -s\".")
        elif incremental:
            if existing is None:
                raise Fail(f"cannot receive {what}: destination '{target}' does not exist")
            names = list(existing.get("snaps", {}))
            guids = [_guid(target, n, existing["snaps"][n]) for n in names]
            if not guids or guids[-1] != header["base"]["guid"]:
                if "F" in flags and header["base"]["guid"] in guids:
                    rollback_to = names[guids.index(header["base"]["guid"])]
                else:
                    raise Fail(f"cannot receive {what}: most recent snapshot of {target} does "
                               "not\nmatch incremental source")
        else:
            if existing is not None:
                if "F" not in flags:
                    raise Fail(f"cannot receive {what}: destination '{target}' exists\n"
                               "must specify -F to overwrite it")
                if existing.get("snaps"):
                    first_snap = next(iter(existing["snaps"]))
                    raise Fail(f"cannot receive {what}: destination has snapshots (eg. "
                               f"{target}@{first_snap})\nmust destroy them to overwrite it")
            parent = target.rpartition("/")[0]
            if parent not in dsets:
                raise Fail(f"cannot receive {what}: parent of '{target}' does not exist"
                           if "/" in parent else f"cannot open '{parent}': dataset does not "
                           "exist")
        dry = "n" in flags or self._replaying
        volume = header["type"] == "volume"
        work = partial if resume is not None else \
            self.zvol_file(target).with_name(self.zvol_file(target).name + ".recv")
        if volume and not dry and resume is None:
            work.parent.mkdir(parents=True, exist_ok=True)
            if incremental:
                assert existing is not None  # checked above: an incremental needs it
                base_name = rollback_to or list(existing["snaps"])[-1]
                _copy(self.zvol_file(f"{target}@{base_name}"), work)
            else:
                with open(work, "wb") as f:
                    f.truncate(min(int(header["volsize"]), 1 << 40))
        received: list[dict[str, Any]] = []
        at = (resume["section"], resume["offset"]) if resume else (0, 0)  # received so far
        try:
            with (open(work, "r+b") if volume and not dry else _Null()) as f:
                while (kind := reader.read(1)) != b"E":
                    if kind != b"S":
                        raise Fail(reader._incomplete)
                    sec = json.loads(reader.line())
                    if sec["index"] != at[0]:
                        at = (sec["index"], 0)
                    while (rec := reader.read(1)) != b"N":
                        if rec == b"W":
                            off, n = _W.unpack(reader.read(_W.size))
                            data = reader.read(n)
                            f.seek(off)
                            f.write(data)
                        elif rec == b"F":
                            off, n = _F.unpack(reader.read(_F.size))
                            f.seek(off)
                            f.write(b"\0" * n)
                        else:
                            raise Fail(reader._incomplete)
                        at = (sec["index"], off + n)
                    if not dry and volume:
                        f.flush()
                        _copy(work, self.zvol_file(f"{target}@{sec['snap']}"))
                    received.append(sec)
                    at = (sec["index"] + 1, 0)
                digest = reader.read(32, hashed=False)
                if digest != reader.sha.digest() or next(reader._chunks, None):
                    raise Fail(reader._incomplete)
            if dry:
                return None
            if volume:
                os.replace(work, self.zvol_file(target))
        except Fail as e:
            if dry or not reader.eof or "s" not in flags:
                self._discard(work, target, received)
                raise
            # -s: what arrived is kept, with a token to send the rest (zfs-receive(8))
            token = "1-" + base64.urlsafe_b64encode(json.dumps(
                {"send": header["send"], "section": at[0], "offset": at[1]}).encode()).decode()
            if volume:
                os.replace(work, partial)
            summary = self._summary(target, header, vals, rollback_to, received)
            summary["partial"] = token
            self._received(st, summary)
            raise _Partial(e.stderr, summary) from None
        except BaseException:
            if not dry:
                self._discard(work, target, received)
            raise
        summary = self._summary(target, header, vals, rollback_to, received)
        self._received(st, summary)
        return summary

    def _discard(self, work: Path, target: str, received: list[dict[str, Any]]) -> None:
        work.unlink(missing_ok=True)
        for sec in received:
            self.zvol_file(f"{target}@{sec['snap']}").unlink(missing_ok=True)

    @staticmethod
    def _summary(target: str, header: dict[str, Any], vals: dict[str, list[str]],
                 rollback_to: str | None, received: list[dict[str, Any]]) -> dict[str, Any]:
        return {"target": target, "type": header["type"], "volsize": header["volsize"],
                "volblocksize": header["volblocksize"],
                "props": dict(p.partition("=")[::2] for p in vals.get("o", [])),
                "incremental": header["base"] is not None, "rollback_to": rollback_to,
                "resumed": header.get("resume") is not None,
                "snaps": [{k: s[k] for k in ("snap", "guid", "creation")} for s in received]}

    def _received(self, st: State, summary: dict[str, Any]) -> None:
        """The state a receive leaves (also what replay of its log line redoes)."""
        target = summary["target"]
        dsets = st["datasets"]
        if summary.get("resumed"):
            ds = dsets[target]
            ds["props"].pop(RESUME_PROP, None)
        elif summary["incremental"]:
            ds = dsets[target]
            if summary["rollback_to"]:
                names = list(ds["snaps"])
                for n in names[names.index(summary["rollback_to"]) + 1:]:
                    self._drop_snapshot(st, target, n)
        else:
            props = {k: v for k, v in (("volsize", summary["volsize"]),
                                       ("volblocksize", summary["volblocksize"])) if v}
            if summary["type"] == "volume":
                props["volmode"] = "dev"
            ds = {"type": summary["type"], "props": {**props, **summary["props"]}}
            if target not in dsets:
                self._adopt(target)
            dsets[target] = ds
        for sec in summary["snaps"]:
            ds.setdefault("snaps", {})[sec["snap"]] = {
                "props": {}, "creation": sec["creation"], "guid": sec["guid"]}
        if summary.get("partial"):
            ds["props"][RESUME_PROP] = summary["partial"]
            if not summary["incremental"] and not summary.get("resumed"):
                ds["partial-new"] = True
        else:
            ds.pop("partial-new", None)

    # -- the pipe -----------------------------------------------------------------------------

    def pipe(self, producer: Sequence[str] | Path, consumer: Sequence[str] | Path, *,
             progress: Callable[[int], None] | None = None,
             tap: Callable[[bytes], None] | None = None) -> int:
        """producer | consumer, in the sim: a `zfs send` or a stream file into a
        `zfs receive` or a stream file, under the host's lock, bytes counted."""
        with self._locked():
            asked = list(consumer) if not isinstance(consumer, Path) else []  # for the log
            if not isinstance(producer, Path):
                producer = _remote(tuple(producer))
            if not isinstance(consumer, Path):
                consumer = _remote(tuple(consumer))
            cut: int | None = None
            pace = 0.0  # seconds each chunk waits: a slow disk or link (a delay fault)
            for side in (producer, consumer):
                if not isinstance(side, Path):
                    fault = self._take_fault(tuple(side))
                    if fault is not None and "cut_after" in fault:
                        cut = fault["cut_after"]
                    elif fault is not None and fault.get("delay"):
                        pace = float(fault["delay"])
                    elif fault is not None:
                        raise CommandFailed(tuple(side), fault["code"], fault["stderr"])
            self._refresh()
            st = self._st
            if isinstance(producer, Path):
                chunks: Iterator[bytes] = _file_chunks(producer)
            else:
                argv = tuple(producer)
                if argv[1:2] != ("send",):
                    unknown(argv)
                try:
                    header, sections, _flags = self._plan_send(st, list(argv[2:]), argv)
                except Fail as e:
                    raise CommandFailed(argv, e.code, e.stderr) from None
                chunks = self._stream(st, header, sections)
            moved = 0

            def counted() -> Iterator[bytes]:
                nonlocal moved
                for whole in chunks:
                    chunk = whole if cut is None else whole[:max(cut - moved, 0)]
                    if not chunk and whole:
                        return  # the sender was killed here: the receiver sees the end
                    moved += len(chunk)
                    if tap is not None:
                        tap(chunk)
                    if pace:
                        time.sleep(pace)
                    if progress is not None:
                        progress(moved)
                    yield chunk

            if isinstance(consumer, Path):
                tmp = consumer.with_name(consumer.name + ".part")
                try:
                    with open(tmp, "wb") as f:
                        for chunk in counted():
                            f.write(chunk)
                    os.replace(tmp, consumer)
                finally:
                    tmp.unlink(missing_ok=True)
                return moved
            cargv = tuple(consumer)
            if cargv[1:2] != ("receive",):
                unknown(cargv)
            try:
                summary = self._receive(st, list(cargv[2:]), cargv, counted())
            except _Partial as e:
                self._log({"run": asked, "recv": e.summary})
                raise CommandFailed(cargv, e.code, e.stderr) from None
            except Fail as e:
                raise CommandFailed(cargv, e.code, e.stderr) from None
            if summary is not None:
                self._log({"run": asked, "recv": summary})
            return moved


def _remote(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The zfs command an `ssh ... zfs ...` argv runs on the other host (itself otherwise)."""
    if os.path.basename(argv[0]) != "ssh":
        return argv
    if "zfs" not in argv:
        unknown(argv)
    return argv[argv.index("zfs"):]


class _Partial(Fail):
    """A -s receive cut short: its state is kept, and the log must replay it."""

    def __init__(self, stderr: str, summary: dict[str, Any]) -> None:
        super().__init__(stderr)
        self.summary = summary


class _Null:
    """A file that takes writes and keeps nothing (a receive with -n)."""

    def __enter__(self) -> _Null:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def seek(self, pos: int) -> None:
        return None

    def write(self, data: bytes) -> None:
        return None

    def flush(self) -> None:
        return None


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


def _copy(src: Path, dst: Path) -> None:
    """dst := src, holes kept, its directory made first (a target on another pool)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    sparse_copy(src, dst)
