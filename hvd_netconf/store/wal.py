"""The write-ahead log: every durable change of the store is one append and one flush.

ROOT/.hvd/wal is a sequence of records, each `#hvd-wal <len> <sha256>\n` followed by <len>
bytes of operations: `put <path> <n>` (a file's new content, n bytes after the line),
`entry <path> <n>` (an entry file's content as compact XML: the file gets it pretty-printed),
`del <path> <0|1>` (remove a file, and with 1 its directory if then empty), `cand - <n>` (a
saved edit of the candidate) and `reset - <n>` (the saved candidate replaced). Paths are
relative to ROOT.

A commit writes its record after the last one and fdatasyncs the log: that is its commit
point, one flush however many entries it touches. The records are followed by zeroed space
made ahead of time, so that this flush writes data only, not the file system's journal.
Only then are the files under ROOT written, without flushes, each through a temp file and
a rename so that no reader sees half a file: for a small record at once, or right after the
reply when the request's transport asks for it (`files_after_reply`: the client does not
wait for them, and they are written before anything else uses the store), on a background
thread (in log order) for a big one, so that creating 10,000 VMs does not wait for 10,000
file creations. They are made durable together at a checkpoint (syncfs(2), or an
fsync of each touched file and directory where there is none), which then empties the log;
until then the log holds them. History files wait for the checkpoint too. A saved
candidate edit is a record that is not flushed: the next commit's flush carries it.

At start every whole record is replayed in order (writing a file twice is harmless), a
record torn by a crash is cut off (it was never acknowledged), and a checkpoint follows.
After a crash, the log wins over a file edited by hand since: it holds what was
acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from hvd_netconf.keys import key_of_file
from hvd_netconf.store.codec import format_entry, serialize_entry
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import fsync_all, fsync_dir, make_dirs, swap_in, syncfs, write_all
from hvd_netconf.store.records import frame, read_frames, torn_tail

log = logging.getLogger(__name__)

STATE_DIR = ".hvd"
WAL_NAME = "wal"
TEMP_SUFFIX = ".wal.new"  # `<target>.wal.new`: the loader removes such leftovers
_HEAD = b"#hvd-wal "
_OP = re.compile(rb"(put|entry|del|cand|reset) ([^\s]+)(?: ([0-9]{1,12}))?")
# Past this size the log is folded into the files at the next write.
CHECKPOINT_BYTES = 8 * 1024 * 1024
# Zeroed space is made ahead of the records in steps of this size: a record written into
# existing space changes no metadata, so its fdatasync skips the file system's journal.
PREALLOC_BYTES = 256 * 1024
# Records with more operations have their files written in the background.
INLINE_OPS = 64

# A test-only hook called with the name of each protocol step, to simulate a crash there.
FaultHook = Callable[[str], None]


@dataclass(frozen=True)
class Put:
    path: str  # relative to ROOT
    data: bytes


@dataclass(frozen=True)
class Entry:
    """An entry file (path: keys.entry_rel), given as codec.compact() bytes: the writer,
    not the commit, pays for pretty-printing.

    `element`, when given, is the same entry as held in running: the writer prints it
    instead of parsing `data` again. It is read under the store's lock only, between
    requests, when running holds committed content.
    """

    path: str
    data: bytes
    element: etree._Element | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Delete:
    path: str
    rmdir: bool = False  # also the directory, if that leaves it empty


@dataclass(frozen=True)
class CandidateSave:
    """A candidate record body (candlog's format): merged into the saved candidate."""

    body: bytes
    reset: bool = False  # True: it replaces the saved candidate instead


Op = Put | Entry | Delete | CandidateSave


def wal_path(root: str) -> str:
    return os.path.join(root, STATE_DIR, WAL_NAME)


_SPACE = re.compile(r"\s")


def _safe(rel: str) -> str:
    parts = rel.split("/")
    if not rel or rel.startswith("/") or ".." in parts or "" in parts or _SPACE.search(rel):
        raise StoreError(f"the write-ahead log names a path outside the root: {rel!r}")
    return rel


def encode(ops: Iterable[Op]) -> bytes:
    """One framed record holding `ops`."""
    parts: list[bytes] = []
    for op in ops:
        if isinstance(op, Put | Entry):
            kind = b"put" if isinstance(op, Put) else b"entry"
            parts += [b"%s %s %d\n" % (kind, _safe(op.path).encode(), len(op.data)), op.data]
        elif isinstance(op, Delete):
            parts.append(b"del %s %d\n" % (_safe(op.path).encode(), op.rmdir))
        else:
            kind = b"reset" if op.reset else b"cand"
            parts += [b"%s - %d\n" % (kind, len(op.body)), op.body]
    return frame(_HEAD, b"".join(parts))


def decode(body: bytes, file: str) -> list[Op]:
    ops: list[Op] = []
    pos = 0
    while pos < len(body):
        nl = body.find(b"\n", pos)
        m = _OP.fullmatch(body, pos, nl) if nl >= 0 else None
        if m is None:
            raise StoreError(f"damaged write-ahead log operation at byte {pos}", file=file)
        kind, arg, num = m.group(1), m.group(2).decode(), m.group(3)
        pos = nl + 1
        if kind == b"del":
            ops.append(Delete(_safe(arg), num == b"1"))
            continue
        end = pos + int(num or b"0")
        data = body[pos:end]
        pos = end
        if kind == b"put":
            ops.append(Put(_safe(arg), data))
        elif kind == b"entry":
            ops.append(Entry(_safe(arg), data))
        else:
            ops.append(CandidateSave(data, reset=kind == b"reset"))
    return ops


def _load(path: str) -> tuple[bytes, list[list[Op]], int]:
    """The log's bytes, its whole records, and the length they span (a torn tail after it)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return b"", [], 0
    bodies, length = read_frames(data, _HEAD, path, "write-ahead log")
    return data, [decode(b, path) for b in bodies], length


def read_records(path: str) -> tuple[list[list[Op]], int]:
    """The whole records in the log, and the length they span."""
    _, records, length = _load(path)
    return records, length


@dataclass
class _Touched:
    """What was written since the last checkpoint, for systems without syncfs(2)."""

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)

    def clear(self) -> None:
        self.files.clear()
        self.dirs.clear()


def _paths(ops: Iterable[Op]) -> list[str]:
    return [op.path for op in ops if not isinstance(op, CandidateSave)]


class _Background:
    """Writes logged operations' files on one thread, in log order, between requests.

    The thread takes the store's lock (the server's) for a slice of SLICE seconds of writing,
    then lets go and yields, so it never competes with a request for the interpreter and a
    request waits for one slice at most (reads right after a commit of 10,000 VMs are not
    stalled behind the writes); drain() by a holder of that lock writes what is left itself.
    """

    CHUNK = 4
    SLICE = 0.0005  # seconds of writing per hold of the lock: the most a request waits

    def __init__(self, write: Callable[[Sequence[Op]], None],
                 lock: AbstractContextManager[Any]) -> None:
        self._write = write
        self._lock = lock
        self._work: deque[Op] = deque()
        # paths of the operations in _work and in the chunk being written
        self._queued: Counter[str] = Counter()
        self._busy = False  # the thread is writing a chunk
        self._died: BaseException | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, ops: Sequence[Op]) -> None:
        with self._cond:
            self._work.extend(ops)
            self._queued.update(_paths(ops))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hvd-wal-writer",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def queued(self, ops: Sequence[Op]) -> bool:
        """Whether a file of `ops` still has an operation waiting or being written here."""
        if not self._work and not self._busy:  # _busy is set before the work is taken
            return False
        with self._cond:
            return any(self._queued[p] for p in _paths(ops))

    def _take(self, n: int | None) -> list[Op]:
        count = len(self._work) if n is None else min(n, len(self._work))
        return [self._work.popleft() for _ in range(count)]

    def _written(self, ops: Sequence[Op]) -> None:
        with self._cond:
            self._queued.subtract(_paths(ops))
            self._busy = False
            self._cond.notify_all()

    def drain(self) -> None:
        """Write every submitted operation's file before returning."""
        with self._cond:
            while self._busy and self._died is None:
                self._cond.wait()
            if self._died is not None:
                raise StoreError(f"the log's file writer stopped: {self._died!r}")
            self._busy = bool(self._work)
            rest = self._take(None)
        try:
            self._write(rest)
        finally:
            self._written(rest)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._work:
                    self._cond.wait()
            with self._lock:
                if not self._write_slice():
                    return
            time.sleep(0)  # hand the interpreter (and the lock) to a waiting request

    def _write_slice(self) -> bool:
        """Write chunks until SLICE seconds have passed or nothing is left (False: the
        writer died)."""
        end = time.monotonic() + self.SLICE
        while time.monotonic() < end:
            with self._cond:
                if not self._work:
                    return True  # all written, or a holder of the lock drained it
                self._busy = True
                chunk = self._take(self.CHUNK)
            try:
                self._write(chunk)
            except BaseException as exc:  # a simulated crash (tests): stop, as if dead
                with self._cond:
                    self._died = exc
                    self._busy = False
                    self._cond.notify_all()
                return False
            self._written(chunk)
        return True


class Wal:
    """The log of one root, and the writing of its operations to the files."""

    def __init__(self, root: str, *, fsync: bool = True, hook: FaultHook | None = None,
                 lock: AbstractContextManager[Any] | None = None) -> None:
        self.root = os.path.abspath(root)
        self.path = wal_path(self.root)
        self.fsync = fsync
        self.hook = hook  # tests only
        self.checkpoint_bytes = CHECKPOINT_BYTES  # tests lower it
        self.inline_ops = INLINE_OPS
        self._touched = _Touched()
        self._behind = False  # a logged record's files could not all be written
        self._deferred: dict[str, Put | Delete] = {}  # path -> its latest deferred operation
        self.files_after_reply = False  # set by the store around a request (see commit())
        self._pending: list[Op] = []  # logged file operations waiting for write_pending()
        self._background = _Background(self._write_logged, lock or contextlib.nullcontext())
        self._fd = -1
        self._size = 0  # the records' length
        self._allocated = 0  # the file's zeroed length past them (at least)

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    # --- start ---------------------------------------------------------------------------

    def recover(self) -> list[list[Op]]:
        """Replay the log's whole records onto the files; returns them (empty: clean stop).

        Called once, before the tree is read. The caller takes the candidate operations
        from the result, then calls checkpoint().
        """
        make_dirs(os.path.dirname(self.path), fsync=self.fsync)
        data, records, length = _load(self.path)
        for ops in records:
            self.apply(ops)
        fresh = not os.path.exists(self.path)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if fresh and self.fsync:
            fsync_dir(os.path.dirname(self.path))
        self._size = length
        self._allocated = len(data)
        if torn_tail(data, length):
            log.warning("%s: cutting off a record torn by a crash (never acknowledged)",
                        self.path)
        if not records:
            self._reset()
        return records

    def _reset(self) -> None:
        """Empty the log, with zeroed space ready for the next records."""
        os.ftruncate(self._fd, 0)
        self._allocated = 0
        self._size = 0
        self._make_room(1)
        if self.fsync:
            os.fsync(self._fd)

    def _make_room(self, n: int) -> None:
        """Zero-fill the file past the records until `n` more bytes fit."""
        step = PREALLOC_BYTES
        want = -(-(self._size + n) // step) * step
        while self._allocated < want:
            os.pwrite(self._fd, bytes(step), self._allocated)
            self._allocated += step

    # --- writes ---------------------------------------------------------------------------

    def append(self, ops: Sequence[Op], *, flush: bool = True) -> None:
        """Log `ops` as one record, made durable (the commit point) unless `flush` is False:
        then it survives hvd's death, not the host's, until the next flushed record. On
        failure nothing is logged."""
        if self._fd < 0:
            raise StoreError("the write-ahead log is closed", file=self.path)
        data = encode(ops)
        self._step("append")
        try:
            self._make_room(len(data))
            view = memoryview(data)
            offset = self._size
            while view:
                done = os.pwrite(self._fd, view, offset)
                view, offset = view[done:], offset + done
            self._step("written")
            if self.fsync and flush:
                os.fdatasync(self._fd)
        except Exception:
            # An ordinary failure (disk full) must not leave half a record for the next one
            # to follow. (A simulated crash in tests is a BaseException: left as it is.)
            try:
                os.pwrite(self._fd, bytes(len(data)), self._size)
            except OSError as again:
                self.close()
                raise StoreError(f"could not undo a failed log write ({again}); hvd must be "
                                 "restarted", file=self.path) from again
            raise
        self._size += len(data)
        self._step("logged")

    def commit(self, ops: Sequence[Op], *, deferred: Sequence[Put | Delete] = (),
               flush: bool = True) -> None:
        """Log `ops` and `deferred` as one record, then write the files of `ops`: before
        returning, after the reply (files_after_reply: write_pending() does it), or for a
        big record in the background (a thread per small record would cost more in handing
        the interpreter back and forth than the writes themselves).

        The files of `deferred` (hvd's own bookkeeping) wait for drain() or the checkpoint,
        the latest operation per path winning: most of them (a history record soon pruned)
        are never written at all.
        """
        self.write_pending()  # an earlier record's files first: log order wins
        self.append([*ops, *deferred], flush=flush)
        for op in deferred:
            self._deferred[op.path] = op
        files = [op for op in ops if not isinstance(op, CandidateSave)]
        if len(files) > self.inline_ops:
            self._background.submit(files)
        elif self.files_after_reply:
            self._pending += files
        elif files:
            self._write_in_order(files)

    @property
    def has_pending(self) -> bool:
        return bool(self._pending)

    def write_pending(self) -> None:
        """Write the files of the records logged with files_after_reply."""
        if self._pending:
            ops, self._pending = self._pending, []
            self._write_in_order(ops)

    def _write_in_order(self, ops: Sequence[Op]) -> None:
        if self._background.queued(ops):
            self._background.drain()  # their earlier operations first: log order wins
        self._write_logged(ops)

    def _write_logged(self, ops: Sequence[Op]) -> None:
        """Past the commit point a failed write is not the commit's failure: it is tried once
        more, then left to the log, which the next checkpoint or start replays."""
        for attempt in (1, 2):
            try:
                self.apply(ops)
                return
            except Exception:
                if attempt == 2:
                    log.exception("writing the files of a logged commit failed; %s holds it "
                                  "and they are rewritten from there", self.path)
                    self._behind = True

    def drain(self) -> None:
        """Write the files of every logged record (before reading them)."""
        self._background.drain()
        self.write_pending()  # newer than anything the background had
        if self._deferred:
            ops = list(self._deferred.values())
            self._deferred.clear()
            self._write_logged(ops)

    def apply(self, ops: Sequence[Op]) -> None:
        """Write the file operations of a logged record; repeating them is harmless."""
        for op in ops:
            if isinstance(op, Entry):
                key = key_of_file(op.path)
                if key is None:
                    raise StoreError(f"the log names {op.path!r} as an entry file",
                                     file=self.path)
                data = serialize_entry(key, op.element) if op.element is not None \
                    else format_entry(key, op.data, self.path)
                self._put(Put(op.path, data))
                self._step(f"put:{op.path}")
            elif isinstance(op, Put):
                self._put(op)
                self._step(f"put:{op.path}")
            elif isinstance(op, Delete):
                self._delete(op)
                self._step(f"delete:{op.path}")

    def _put(self, op: Put) -> None:
        target = os.path.join(self.root, op.path)
        directory = os.path.dirname(target)
        tmp = target + TEMP_SUFFIX
        self._make_dirs(directory)  # one stat when it is there (a new VM's is not)
        write_all(tmp, op.data, os.O_TRUNC, None)
        swap_in(tmp, target)
        self._touched.files.add(target)
        self._touched.dirs.add(directory)

    def _make_dirs(self, directory: str) -> None:
        missing = []
        while not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for d in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(d, 0o700)
            self._touched.dirs.add(os.path.dirname(d))

    def _delete(self, op: Delete) -> None:
        path = os.path.join(self.root, op.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        parent = os.path.dirname(path)
        self._touched.dirs.add(parent)
        if op.rmdir:
            # Not empty (disks/, state/) or a busy ZFS mountpoint: the directory stays.
            with contextlib.suppress(OSError):
                os.rmdir(parent)
                self._touched.dirs.discard(parent)
                self._touched.dirs.add(os.path.dirname(parent))

    @property
    def size(self) -> int:
        return self._size

    def wants_checkpoint(self) -> bool:
        return self._size >= self.checkpoint_bytes or self._behind

    def checkpoint(self, before_truncate: Callable[[], None]) -> None:
        """Make the written files durable, then empty the log.

        `before_truncate` runs between the two: the caller's own snapshot (the candidate's)
        must be durable before the log that also holds it goes.
        """
        self.drain()
        if self._behind:
            for ops in read_records(self.path)[0]:
                self.apply(ops)
            self._behind = False
        if self.fsync:
            self._sync_touched()
        self._step("synced")
        before_truncate()
        self._step("snapshot")
        self._reset()
        self._touched.clear()
        self._step("checkpointed")

    def _sync_touched(self) -> None:
        touched = self._touched
        dirs = sorted(d for d in touched.dirs if os.path.isdir(d))
        if not touched.files and not dirs:
            return
        if syncfs(self.root):
            return
        fsync_all([f for f in sorted(touched.files) if os.path.exists(f)], dirs)

    def close(self) -> None:
        self.drain()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
