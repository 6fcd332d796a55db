"""Commit history: who changed what, as before/after images of the touched entries only.

Each commit is one file ROOT/.hvd/history/<id>.xml written in the commit's own log record,
so recording costs O(change). The newest `limit` records are kept.
"""

from __future__ import annotations

import copy
import os
import re
import time as clock
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree

from hvd_netconf.errors import InvalidValue, RpcError
from hvd_netconf.keys import Key, check_name, key_of
from hvd_netconf.store.codec import strip_layout
from hvd_netconf.store.datastore import Datastore
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.loader import read_regular, remove_temps
from hvd_netconf.store.wal import Delete, Put
from hvd_netconf.xmlparse import XmlLimits, parse

HISTORY_NS = "urn:hvd:store:history"
SOURCES = ("commit", "edit-running", "copy-config", "confirmed-revert", "rollback",
           "install-vm", "install-done", "create-vm", "clone-vm", "restore-vm",
           "import-vm-bhyve")
_FILE = re.compile(r"(\d{1,18})\.xml")
# A record may hold the images of a whole datastore (copy-config of 10,000 VMs).
HISTORY_LIMITS = XmlLimits(max_bytes=2 * 1024**3, max_depth=64, max_elements=100_000_000)


def _h(name: str) -> str:
    return f"{{{HISTORY_NS}}}{name}"


def rfc3339_now() -> str:
    """UTC with milliseconds: 2026-11-27T22:05:14.123Z."""
    t = clock.time()
    return f"{clock.strftime('%Y-%m-%dT%H:%M:%S', clock.gmtime(t))}.{int(t * 1000) % 1000:03d}Z"


@dataclass(frozen=True)
class CommitMeta:
    """Who made a change and how; recorded with it."""

    user: str = ""
    session_id: int | None = None
    transport: str = ""
    comment: str = ""
    source: str = "commit"

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown commit source {self.source!r}; one of {SOURCES}")


@dataclass(frozen=True)
class Change:
    key: Key
    op: str  # create | modify | delete


@dataclass(frozen=True)
class HistoryRecord:
    id: int
    time: str
    meta: CommitMeta
    changes: tuple[Change, ...]
    # Only filled by History.get(): key -> (before, after), detached copies.
    images: Mapping[Key, tuple[etree._Element | None, etree._Element | None]] | None = \
        field(default=None, compare=False)


_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


def _text(name: str, value: str) -> str:
    """<name>value</name> as lxml would write it (a commit record is written per commit,
    and building its few nodes as a tree cost more than the rest of the record)."""
    if _XML_CHAR.search(value):
        raise ValueError(f"{name} holds characters XML cannot carry")
    return f"<{name}>{value.translate(_ESCAPES)}</{name}>"


Images = Mapping[Key, tuple[bytes | None, bytes | None]]  # codec.compact() bytes


def render_record(rec_id: int, time: str, meta: CommitMeta, images: Images
                  ) -> tuple[bytes, HistoryRecord]:
    """The record's file: its metadata, then each change with its images spliced in as they
    are (no tree is built for them: a commit of 10,000 entries stays cheap)."""
    head = [f"<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<commit xmlns="{HISTORY_NS}" id="{rec_id}">', _text("time", time),
            _text("user", meta.user)]
    if meta.session_id is not None:
        head.append(_text("session-id", str(meta.session_id)))
    head += [_text("transport", meta.transport), _text("comment", meta.comment),
             _text("source", meta.source)]
    parts = ["".join(head).encode()]
    changes = []
    for key, (before, after) in images.items():
        op = "create" if before is None else "delete" if after is None else "modify"
        changes.append(Change(key, op))
        # Names are checked safe names: nothing in them needs escaping.
        parts.append(f'\n<change kind="{key[0]}" name="{key[1]}" op="{op}">'.encode())
        for tag, img in ((b"before", before), (b"after", after)):
            if img is not None:
                parts += [b"<", tag, b">", img, b"</", tag, b">"]
        parts.append(b"</change>")
    parts.append(b"\n</commit>\n")
    return b"".join(parts), HistoryRecord(rec_id, time, meta, tuple(changes))


def parse_record(data: bytes, file: str, *, with_images: bool) -> HistoryRecord:
    try:
        root = parse(data, HISTORY_LIMITS)
    except RpcError as exc:
        raise StoreError(exc.message, file=file) from None
    try:
        if root.tag != _h("commit"):
            raise ValueError(f"expected <commit xmlns=\"{HISTORY_NS}\">, found {root.tag}")
        rec_id = int(root.get("id", ""))
        sid = root.findtext(_h("session-id"))
        meta = CommitMeta(
            user=root.findtext(_h("user")) or "",
            session_id=int(sid) if sid is not None else None,
            transport=root.findtext(_h("transport")) or "",
            comment=root.findtext(_h("comment")) or "",
            source=root.findtext(_h("source")) or "",
        )
        time = root.findtext(_h("time"))
        if not time:
            raise ValueError("no <time>")
        changes = []
        images: dict[Key, tuple[etree._Element | None, etree._Element | None]] = {}
        for ch in root.iterchildren(_h("change")):
            key = (ch.get("kind", ""), ch.get("name", ""))
            check_name(key)
            pair = []
            for tag in ("before", "after"):
                holder = ch.find(_h(tag))
                entry = None
                if holder is not None:
                    if len(holder) != 1 or key_of(holder[0]) != key:
                        raise ValueError(f"<{tag}> of {key} is not one entry named so")
                    entry = strip_layout(holder[0])
                    holder.remove(entry)
                pair.append(entry)
            op = "create" if pair[0] is None else "delete" if pair[1] is None else "modify"
            if ch.get("op") != op:
                raise ValueError(f"change of {key} says op={ch.get('op')!r} but is a {op}")
            changes.append(Change(key, op))
            images[key] = (pair[0], pair[1])
    except (ValueError, RpcError) as exc:
        raise StoreError(f"bad history record: {exc}", file=file) from None
    return HistoryRecord(rec_id, time, meta, tuple(changes), images if with_images else None)


class History:
    """The bounded list of commit records; metadata in memory, images on disk."""

    def __init__(self, directory: str, *, limit: int = 50,
                 running_root: Callable[[], etree._Element] | None = None,
                 before_read: Callable[[], None] = lambda: None) -> None:
        if limit < 1:
            raise ValueError("history limit must be at least 1 (it also carries the id)")
        self.directory = directory
        self.limit = limit
        self._running_root = running_root
        self._before_read = before_read  # records may still be on their way to disk
        self._records: dict[int, HistoryRecord] = {}  # oldest first
        self._rel: dict[str, str] = {}  # root -> the directory relative to it

    def _path(self, rec_id: int) -> str:
        return os.path.join(self.directory, self._name(rec_id))

    @staticmethod
    def _name(rec_id: int) -> str:
        return f"{rec_id:012d}.xml"

    def load(self) -> None:
        """Read every record (each file parsed and checked); a stray file stops the start."""
        found: dict[int, HistoryRecord] = {}
        names = os.listdir(self.directory) if os.path.isdir(self.directory) else []
        for name in remove_temps(self.directory, names):
            path = os.path.join(self.directory, name)
            m = _FILE.fullmatch(name)
            if not m:
                raise StoreError("unknown file in the history directory", file=path)
            rec = parse_record(read_regular(path), path, with_images=False)
            if rec.id != int(m.group(1)):
                raise StoreError(f"record says id {rec.id}", file=path)
            found[rec.id] = rec
        self._records = dict(sorted(found.items()))

    @property
    def last_id(self) -> int:
        return next(reversed(self._records), 0)

    def prepare(self, rec_id: int, meta: CommitMeta, images: Images,
                root: str) -> tuple[HistoryRecord, list[int], list[Put | Delete]]:
        """The record, the oldest ids it pushes out, and the log operations doing both
        (paths relative to `root`)."""
        data, rec = render_record(rec_id, rfc3339_now(), meta, images)
        rel = self._rel.get(root)
        if rel is None:
            rel = self._rel[root] = os.path.relpath(self.directory, root)
        ops: list[Put | Delete] = [Put(f"{rel}/{self._name(rec_id)}", data)]
        excess = len(self._records) + 1 - self.limit
        dropped = list(self._records)[:max(0, excess)]
        ops += [Delete(f"{rel}/{self._name(old)}") for old in dropped]
        return rec, dropped, ops

    def register(self, rec: HistoryRecord, dropped: list[int]) -> None:
        """Called once the transaction holding the record is durable."""
        for old in dropped:
            self._records.pop(old, None)
        self._records[rec.id] = rec

    def __len__(self) -> int:
        return len(self._records)

    def ids(self) -> list[int]:
        return list(self._records)

    def list(self, offset: int = 0, limit: int = 20) -> list[HistoryRecord]:
        """Records newest first, without images."""
        if offset < 0 or limit < 0:
            raise InvalidValue("offset and limit must not be negative")
        newest_first = list(reversed(self._records.values()))
        return newest_first[offset:offset + limit]

    def _known(self, rec_id: int) -> None:
        if rec_id not in self._records:
            span = f"{next(iter(self._records))}..{self.last_id}" if self._records else "none"
            raise InvalidValue(f"no commit {rec_id} in the history (kept: {span})",
                               info=[("bad-element", "commit-id")])

    def get(self, rec_id: int) -> HistoryRecord:
        """The record with its before/after images (detached copies, the caller's own)."""
        self._known(rec_id)
        self._before_read()
        path = self._path(rec_id)
        with open(path, "rb") as f:
            return parse_record(f.read(), path, with_images=True)

    def revert_changes(self, rec_id: int) -> dict[Key, etree._Element | None]:
        """What to write to running to bring it back to right after commit `rec_id`.

        Only the entries touched since are returned: a rollback costs O(change).
        """
        self._known(rec_id)
        out: dict[Key, etree._Element | None] = {}
        for newer in reversed([i for i in self._records if i > rec_id]):
            images = self.get(newer).images or {}
            for key, (before, _after) in images.items():
                out[key] = before
        return out

    def config_at(self, rec_id: int,
                  running_root: etree._Element | None = None) -> etree._Element:
        """The whole configuration as it was right after commit `rec_id` (a new tree)."""
        if running_root is None:
            if self._running_root is None:
                raise ValueError("config_at needs the running configuration")
            running_root = self._running_root()
        changes = self.revert_changes(rec_id)
        ds = Datastore(copy.deepcopy(running_root))
        for key, element in changes.items():
            ds.set_entry(key, element)
        return ds.root
