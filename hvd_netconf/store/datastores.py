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
from hvd_netconf.store import candlog
from hvd_netconf.store.codec import serialize_entry
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
    remove_temps,
    validate_loaded,
)
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits

Changes = Mapping[Key, etree._Element | None]


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
        self._saved: set[Key] = set()  # keys the candidate log holds
        self.candidate_log = os.path.join(self.state_dir, candlog.LOG_NAME)
        candlog.ensure(self.candidate_log, fsync=fsync)
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
        if self._saved:
            self._step(f"truncate:{candlog.LOG_NAME}")
            candlog.truncate(self.candidate_log, fsync=self.fsync)
        for key in self._dirty:
            el = self.running.get(key)
            self.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
        self._dirty.clear()
        self._unsaved.clear()
        self._saved.clear()

    def _step(self, name: str) -> None:
        if self._hook is not None:
            self._hook(name)

    def save_candidate(self) -> None:
        """Persist the candidate's entries edited since the last save: one append, one fsync.

        The log (candlog) records each such entry, its deletion from the candidate while
        running has it, or that it is no longer edited.
        """
        items: list[tuple[Key, etree._Element | str | None]] = []
        for key in sorted(self._unsaved):
            el = self.candidate.get(key)
            if el is not None or self.running.get(key) is not None:
                items.append((key, el))
            elif key in self._saved:
                items.append((key, candlog.FORGET))
        if items:
            self._step(f"append:{candlog.LOG_NAME}")
            candlog.append(self.candidate_log, candlog.record(items), fsync=self.fsync)
        for key, value in items:
            if value is candlog.FORGET:
                self._saved.discard(key)
            else:
                self._saved.add(key)
        self._unsaved.clear()

    def _load_candidate(self) -> None:
        # The temp file of a commit's log replacement that never reached its commit point.
        remove_temps(self.state_dir, [n for n in os.listdir(self.state_dir)
                                      if n.startswith(candlog.LOG_NAME + ".")])
        for key, value in candlog.load(self.candidate_log).items():
            checked_key(key[0], key[1], self.schema, self.candidate_log)
            self.candidate.set_entry(key, value if not isinstance(value, str) else None)
            self._saved.add(key)
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
            if from_candidate and self._saved & changes.keys():
                rest = [(k, self.candidate.get(k)) for k in sorted(self._saved - changes.keys())
                        if k in self.candidate or k in self.running]
                if rest:
                    txn.put(self.candidate_log, candlog.record(rest))
                else:
                    txn.truncate(self.candidate_log)
            rec, dropped = self.history.prepare(txn, rec_id, meta, images)
        except Exception:
            txn.abort()
            raise
        self._run(txn)
        self.history.register(rec, dropped)
        for key, (_before, after) in images.items():
            self.running.set_entry(key, copy.deepcopy(after) if after is not None else None)
        for key, after in changes.items():
            if from_candidate and after is not None and after is self.candidate.get(key):
                pass  # the candidate already holds exactly what running now has a copy of
            elif from_candidate or key not in self._dirty:
                el = self.running.get(key)
                self.candidate.set_entry(key, copy.deepcopy(el) if el is not None else None)
            if from_candidate:
                self._dirty.discard(key)
                self._unsaved.discard(key)
                self._saved.discard(key)
        return rec_id
