"""The commit journal: many file replacements and removals under ROOT, all or none.

Protocol (each step durable before the next):
  1. every new file is written beside its target as `<target>.<txid>.new`; then the files
     and their directories are fsynced (a rename of a temp file whose name was lost would
     silently keep the old content);
  2. ROOT/.hvd/journal is written with every rename/removal and a final marker holding the
     SHA-256 of that list, and fsynced: this is the commit point;
  3. renames and removals are done, then the touched directories are fsynced;
  4. the journal is emptied. That need not be durable: replaying an applied journal is a
     no-op, and the next commit durably overwrites it before touching anything. The file
     itself stays, so writing it never needs a directory fsync.
On start, recover(): a journal with a valid marker is rolled forward (idempotently), one
without is rolled back (its temp files removed). Entry directories under vm/ may be ZFS
mountpoints, so directories are never swapped, only files inside them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Sequence

from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import fsync_all, fsync_dir, make_dirs, write_file

STATE_DIR = ".hvd"
JOURNAL = "journal"
TEMP_SUFFIX = ".new"
_MARK = b"COMMIT "

# A test-only hook called with the name of each protocol step, to simulate a crash there.
FaultHook = Callable[[str], None]


def journal_path(root: str) -> str:
    return os.path.join(root, STATE_DIR, JOURNAL)


class Transaction:
    """Collect puts and deletes, then commit() them durably as one step."""

    def __init__(self, root: str, *, fsync: bool = True, hook: FaultHook | None = None,
                 txid: str | None = None) -> None:
        self.root = os.path.abspath(root)
        self.fsync = fsync
        self.hook = hook
        self.txid = txid or secrets.token_hex(6)
        self._puts: list[tuple[str, str]] = []  # (temp, target), relative to root
        self._dels: list[tuple[str, bool]] = []  # (target, remove its directory if empty)
        self._truncs: list[str] = []  # files emptied in place (the candidate log)
        self._targets: set[str] = set()
        self._new_dirs: set[str] = set()  # directories put() created: their parents to fsync
        self._seen_dirs: set[str] = set()

    def _rel(self, path: str) -> str:
        prefix = self.root + os.sep
        if path.startswith(prefix) and "/." not in path and "//" not in path:
            rel = path[len(prefix):]  # the store's own absolute paths: no normalising needed
        else:
            rel = os.path.relpath(os.path.abspath(path), self.root)
        if rel.startswith("..") or os.path.isabs(rel):
            raise ValueError(f"{path} is outside {self.root}")
        if rel in self._targets:
            raise ValueError(f"{rel} is changed twice in one transaction")
        self._targets.add(rel)
        return rel

    def _step(self, name: str) -> None:
        if self.hook is not None:
            self.hook(name)

    def __len__(self) -> int:
        return len(self._puts) + len(self._dels) + len(self._truncs)

    def put(self, target: str, data: bytes) -> None:
        """Write the new content beside `target` now; it replaces `target` at commit()."""
        rel = self._rel(target)
        tmp = f"{rel}.{self.txid}{TEMP_SUFFIX}"
        directory = os.path.dirname(os.path.join(self.root, rel))
        if directory not in self._seen_dirs:
            self._seen_dirs.add(directory)
            # New directories are made durable with the files, in commit()'s one batch.
            try:
                os.mkdir(directory, 0o700)
                self._new_dirs.add(directory)
            except FileExistsError:
                pass
            except FileNotFoundError:
                make_dirs(directory, fsync=False)
                while directory not in self._new_dirs and directory != self.root:
                    self._new_dirs.add(directory)
                    directory = os.path.dirname(directory)
        self._puts.append((tmp, rel))
        write_file(os.path.join(self.root, tmp), data, fsync=False)
        self._step(f"put:{rel}")

    def delete(self, target: str, *, rmdir: bool = False) -> None:
        """Remove `target` at commit(); with rmdir, also its directory if then empty."""
        self._dels.append((self._rel(target), rmdir))

    def truncate(self, target: str) -> None:
        """Empty `target` in place at commit() (no temp file, no rename)."""
        self._truncs.append(self._rel(target))

    def abort(self) -> None:
        """Forget the transaction, removing the temp files written so far."""
        for tmp, _ in self._puts:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.root, tmp))
        self._puts.clear()
        self._dels.clear()
        self._truncs.clear()

    def commit(self) -> None:
        if not len(self):
            return
        if self.fsync:
            # All files first, then all fsyncs at once: the disk sees one batch, not N rounds.
            dirs = {os.path.dirname(os.path.join(self.root, t)) for t, _ in self._puts}
            dirs |= {os.path.dirname(d) for d in self._new_dirs}
            fsync_all([os.path.join(self.root, t) for t, _ in self._puts], sorted(dirs))
        self._step("prepared")
        plan: dict[str, object] = {"tx": self.txid, "put": self._puts, "del": self._dels}
        if self._truncs:
            plan["trunc"] = self._truncs
        body = json.dumps(plan, separators=(",", ":")).encode()
        marker = _MARK + self.txid.encode() + b" " + hashlib.sha256(body).hexdigest().encode()
        ensure_journal(self.root, fsync=self.fsync)
        write_file(journal_path(self.root), body + b"\n" + marker + b"\n", fsync=self.fsync)
        self._step("journaled")
        _apply(self.root, self._puts, self._dels, self.fsync, self._step, self._truncs)
        self._step("applied")
        write_file(journal_path(self.root), b"", fsync=False)
        self._step("done")


def ensure_journal(root: str, *, fsync: bool = True) -> None:
    """Create the (empty) journal file once, durably, so later writes are in place."""
    path = journal_path(root)
    if os.path.exists(path):
        return
    make_dirs(os.path.dirname(path), fsync=fsync)
    write_file(path, b"", fsync=fsync)
    if fsync:
        fsync_dir(os.path.dirname(path))


def _apply(root: str, puts: list[tuple[str, str]], dels: list[tuple[str, bool]], fsync: bool,
           step: Callable[[str], None], truncs: Sequence[str] = ()) -> None:
    """Do the journal's renames, removals and truncations; safe to repeat after a crash."""
    dirs: set[str] = set()
    emptied: list[str] = []
    for target in truncs:
        path = os.path.join(root, target)
        with contextlib.suppress(FileNotFoundError):
            os.truncate(path, 0)
            emptied.append(path)
        step(f"truncate:{target}")
    for tmp, target in puts:
        src, dst = os.path.join(root, tmp), os.path.join(root, target)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            if os.path.exists(src):  # a replay after the directory went away
                make_dirs(os.path.dirname(dst), fsync=fsync)
                os.replace(src, dst)
        dirs.add(os.path.dirname(dst))
        step(f"rename:{target}")
    for target, rmdir in dels:
        path = os.path.join(root, target)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        parent = os.path.dirname(path)
        dirs.add(parent)
        if rmdir:
            # Not empty (disks/, state/) or a busy ZFS mountpoint: the directory stays.
            with contextlib.suppress(OSError):
                os.rmdir(parent)
                dirs.discard(parent)
                dirs.add(os.path.dirname(parent))
        step(f"delete:{target}")
    if fsync:
        fsync_all(emptied, [d for d in sorted(dirs) if os.path.isdir(d)])


def _safe(root: str, rel: object) -> str:
    if not isinstance(rel, str) or os.path.isabs(rel) or ".." in rel.split(os.sep):
        raise StoreError(f"journal names a path outside the root: {rel!r}",
                         file=journal_path(root))
    return rel


def recover(root: str, *, fsync: bool = True) -> str | None:
    """Finish or undo a commit interrupted by a crash; 'rolled-forward', 'rolled-back' or None."""
    path = journal_path(root)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    if not data:
        return None
    lines = data.split(b"\n")
    body = lines[0]
    try:
        plan = json.loads(body)
        puts = [(_safe(root, t), _safe(root, d)) for t, d in plan["put"]]
        dels = [(_safe(root, d), bool(r)) for d, r in plan["del"]]
        truncs = [_safe(root, t) for t in plan.get("trunc", [])]
        txid = plan["tx"]
    except StoreError:
        raise
    except (ValueError, KeyError, TypeError):
        # A torn journal: the commit point was never reached. Its temp files are orphans,
        # removed by the start-up scan.
        plan = None
    committed = (
        plan is not None and len(lines) >= 2
        and lines[1] == _MARK + str(txid).encode() + b" "
        + hashlib.sha256(body).hexdigest().encode()
    )
    if committed:
        _apply(root, puts, dels, fsync, lambda _s: None, truncs)
        outcome = "rolled-forward"
    else:
        for tmp, _ in puts if plan is not None else []:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(root, tmp))
        outcome = "rolled-back"
    write_file(path, b"", fsync=fsync)
    return outcome
