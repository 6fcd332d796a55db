"""running and candidate, their durable commit, and the candidate's persistence.

Every write of running (commit, edit on running, copy-config, rollback, confirmed-commit
revert) goes through one path: names checked, only the changed entries written (journal),
history recorded in the same journal, then memory switched. Nothing here validates the
model: callers validate before they write (the loader validates at start).
"""

from __future__ import annotations

import copy
import os
import secrets
from collections.abc import Mapping
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.store.codec import parse_entry, serialize_entry
from hvd_netconf.store.errors import StoreError
from hvd_netconf.store.fileio import make_dirs
from hvd_netconf.store.history import CommitMeta, History
from hvd_netconf.store.journal import (
    STATE_DIR,
    FaultHook,
    Transaction,
    ensure_journal,
    journal_path,
    recover,
)
from hvd_netconf.store.keys import KINDS, Key, check_name, entry_file, key_of
from hvd_netconf.store.loader import (
    checked_key,
    load_tree,
    read_regular,
    remove_temps,
    validate_loaded,
)
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits

Changes = Mapping[Key, etree._Element | None]
_TOMBSTONE = ".deleted"
_SAVED = ".xml"


class Datastores:
    """The datastores of one hvd root. Not thread-safe: callers hold the server's lock."""

    def __init__(self, root_dir: str, schema: Any = None, fsync: bool = True, *,
                 history_limit: int = 50, limits: XmlLimits = DEFAULT_LIMITS,
                 fault_hook: FaultHook | None = None) -> None:
        self.root_dir = os.path.abspath(root_dir)
        self.schema = schema
        self.fsync = fsync
        self.limits = limits
        self._hook = fault_hook  # tests only: simulate a crash at a named protocol step
        self.state_dir = os.path.join(self.root_dir, STATE_DIR)
        for d in (*(k.directory for k in KINDS.values()), STATE_DIR):
            make_dirs(os.path.join(self.root_dir, d), fsync=fsync)
        self.recovered = recover(self.root_dir, fsync=fsync)
        ensure_journal(self.root_dir, fsync=fsync)
        self.running = load_tree(self.root_dir, schema, limits)
        if schema is not None:
            validate_loaded(schema, self.running, self.root_dir)
        self.history = History(os.path.join(self.state_dir, "history"), limit=history_limit,
                               running_root=lambda: self.running.root)
        self.history.load()
        self.candidate = self.running.copy()
        self._dirty: set[Key] = set()
        self._unsaved: set[Key] = set()
        self._saved: dict[Key, str] = {}  # key -> its file under .hvd/candidate/
        self._load_candidate()

    # --- candidate bookkeeping ---------------------------------------------------------

    @property
    def candidate_dirty(self) -> bool:
        return bool(self._dirty)

    @property
    def dirty_keys(self) -> frozenset[Key]:
        return frozenset(self._dirty)

    def mark_dirty(self, keys: Any = None) -> None:
        """Note that the candidate was edited at these entries (None: possibly all of them)."""
        if keys is None:
            every = set(self.running.keys()) | set(self.candidate.keys())
            self._dirty |= every
            self._unsaved |= every
            return
        for key in keys:
            check_name(key, self.schema)
            self._dirty.add(key)
            self._unsaved.add(key)

    def discard_candidate(self) -> None:
        """Candidate := running, copying back only the dirty entries (O(change))."""
        txn = self._txn()
        for path in self._saved.values():
            txn.delete(path)
        self._run(txn)
        for key in self._dirty:
            el = self.running.get(key)
            self.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
        self._dirty.clear()
        self._unsaved.clear()
        self._saved.clear()

    def _candidate_dir(self) -> str:
        return os.path.join(self.state_dir, "candidate")

    def _saved_path(self, key: Key, suffix: str) -> str:
        return os.path.join(self._candidate_dir(), KINDS[key[0]].directory, key[1] + suffix)

    def save_candidate(self) -> None:
        """Persist the candidate's entries edited since the last save (O(change) on disk).

        Stored under ROOT/.hvd/candidate/<kind>/: <name>.xml for an entry, <name>.deleted
        (empty) for one deleted in the candidate but present in running.
        """
        txn = self._txn()
        now: dict[Key, str | None] = {}
        for key in self._unsaved:
            el = self.candidate.get(key)
            old = self._saved.get(key)
            path: str | None
            if el is not None:
                path = self._saved_path(key, _SAVED)
                txn.put(path, serialize_entry(key, el))
            elif self.running.get(key) is not None:
                path = self._saved_path(key, _TOMBSTONE)
                txn.put(path, b"")
            else:
                path = None
            if old is not None and old != path:
                txn.delete(old)
            now[key] = path
        self._run(txn)
        for key, path in now.items():
            if path is None:
                self._saved.pop(key, None)
            else:
                self._saved[key] = path
        self._unsaved.clear()

    def _load_candidate(self) -> None:
        base = self._candidate_dir()
        for k in KINDS.values():
            directory = os.path.join(base, k.directory)
            if not os.path.isdir(directory):
                continue
            for name in sorted(remove_temps(directory, os.listdir(directory))):
                path = os.path.join(directory, name)
                stem, suffix = os.path.splitext(name)
                if suffix not in (_SAVED, _TOMBSTONE):
                    raise StoreError("unknown file among the saved candidate", file=path)
                key = checked_key(k.name, stem, self.schema, path)
                if key in self._saved:
                    raise StoreError(f"saved twice (also {self._saved[key]})", file=path)
                data = read_regular(path)
                if suffix == _TOMBSTONE:
                    if data:
                        raise StoreError("a deletion marker must be empty", file=path)
                    self.candidate.set_entry(key, None)
                else:
                    self.candidate.set_entry(key, parse_entry(data, key, path, self.limits))
                self._saved[key] = path
                self._dirty.add(key)
        if self.schema is not None and self._saved:
            validate_loaded(self.schema, self.candidate, self.root_dir, "saved candidate ")

    # --- writes ----------------------------------------------------------------------

    def commit(self, changes: Changes | None = None, meta: CommitMeta | None = None) -> int:
        """Write changes (None: the candidate's dirty entries) to running; returns the id.

        Those entries of the candidate become equal to running and stop being dirty.
        """
        if changes is None:
            changes = {key: self.candidate.get(key) for key in sorted(self._dirty)}
        return self._write(changes, meta or CommitMeta(), from_candidate=True)

    def write_running(self, changes: Changes, meta: CommitMeta) -> int:
        """Write to running directly (edit on running, copy-config, rollback, revert).

        The candidate follows for entries it has not been edited at.
        """
        return self._write(changes, meta, from_candidate=False)

    def _txn(self) -> Transaction:
        return Transaction(self.root_dir, fsync=self.fsync, hook=self._hook)

    def _run(self, txn: Transaction) -> None:
        """Commit the transaction; an ordinary failure before its commit point changes nothing.

        After the commit point the journal is replayed at once, so the write still lands.
        BaseExceptions (a simulated crash) leave the disk as it is, for recovery to find.
        """
        try:
            txn.commit()
        except Exception as exc:
            try:
                outcome = recover(self.root_dir, fsync=self.fsync)
            except OSError as again:
                raise StoreError(f"commit could not be completed: {again}; it is completed "
                                 "when hvd next starts", file=journal_path(self.root_dir)) \
                    from exc
            if outcome != "rolled-forward":
                txn.abort()
                raise

    def _write(self, changes: Changes, meta: CommitMeta, *, from_candidate: bool) -> int:
        images: dict[Key, tuple[etree._Element | None, etree._Element | None]] = {}
        rec_id = self.history.last_id + 1
        txn = Transaction(self.root_dir, fsync=self.fsync, hook=self._hook,
                          txid=f"{rec_id}-{secrets.token_hex(4)}")
        for key, after in changes.items():
            check_name(key, self.schema)
            if after is not None and key_of(after) != key:
                raise InvalidValue(f"entry {key_of(after)!r} given for key {key!r}")
        try:
            for key, after in changes.items():
                before = self.running.get(key)
                if before is None and after is None:
                    continue
                path = entry_file(self.root_dir, key)
                if after is None:
                    txn.delete(path, rmdir=True)
                else:
                    data = serialize_entry(key, after)
                    if before is not None and data == serialize_entry(key, before):
                        continue
                    txn.put(path, data)
                images[key] = (before, after)
            if from_candidate:
                for key in changes:
                    if key in self._saved:
                        txn.delete(self._saved[key])
            rec, dropped = self.history.prepare(txn, rec_id, meta, images)
        except Exception:
            txn.abort()
            raise
        self._run(txn)
        self.history.register(rec, dropped)
        for key, (_before, after) in images.items():
            self.running.set_entry(key, copy.deepcopy(after) if after is not None else None)
        for key in changes:
            if from_candidate or key not in self._dirty:
                el = self.running.get(key)
                self.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
            if from_candidate:
                self._dirty.discard(key)
                self._unsaved.discard(key)
                self._saved.pop(key, None)
        return rec_id
