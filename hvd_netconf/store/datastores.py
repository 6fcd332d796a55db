"""running and candidate, their durable commit, and the candidate's persistence.

Every write of running (commit, edit on running, copy-config, rollback, confirmed-commit
revert) goes through one path: names checked, only the changed entries logged in one
write-ahead log record with the history record and the saved candidate's reset, then files
and memory switched. Saved edits of the candidate are log records too. Nothing here
validates the model: callers validate before they write (the loader validates at start).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.keys import KINDS, Key, check_name, entry_rel, key_of
from hvd_netconf.schema.nodes import Schema
from hvd_netconf.store import candlog
from hvd_netconf.store.codec import compact
from hvd_netconf.store.datastore import clone, same
from hvd_netconf.store.fileio import make_dirs
from hvd_netconf.store.history import CommitMeta, History
from hvd_netconf.store.loader import (
    checked_key,
    load_tree,
    remove_temps,
    validate_loaded,
)
from hvd_netconf.store.owners import EARLIER, Editor, Owners
from hvd_netconf.store.private import PrivateCandidate
from hvd_netconf.store.wal import STATE_DIR, CandidateSave, Delete, Entry, FaultHook, Op, Wal
from hvd_netconf.xmlparse import DEFAULT_LIMITS, XmlLimits

log = logging.getLogger(__name__)

Changes = Mapping[Key, etree._Element | None]


class Datastores:
    """The datastores of one hvd root. Not thread-safe: callers hold the server's lock."""

    def __init__(self, root_dir: str, schema: Schema | None = None, fsync: bool = True, *,
                 history_limit: int = 50, limits: XmlLimits = DEFAULT_LIMITS,
                 fault_hook: FaultHook | None = None,
                 lock: AbstractContextManager[Any] | None = None) -> None:
        self.root_dir = os.path.abspath(root_dir)
        self.schema = schema
        self.fsync = fsync
        self.limits = limits
        self._hook = fault_hook  # tests only: simulate a crash at a named protocol step
        self.state_dir = os.path.join(self.root_dir, STATE_DIR)
        for d in (*(k.directory for k in KINDS.values()), STATE_DIR):
            make_dirs(os.path.join(self.root_dir, d), fsync=fsync)
        # `lock`: what callers hold around every use (the server's); the log's background
        # file writer takes it too, so that it runs between requests.
        self.wal = Wal(self.root_dir, fsync=fsync, hook=self._step, lock=lock)
        records = self.wal.recover()
        self.recovered = len(records)  # log records replayed at this start (0: clean stop)
        self.running = load_tree(self.root_dir, schema, limits)
        if schema is not None:
            validate_loaded(schema, self.running, self.root_dir)
        self.history = History(os.path.join(self.state_dir, "history"), limit=history_limit,
                               running_root=lambda: self.running.root,
                               before_read=self.wal.drain)
        self.history.load()
        self.candidate = self.running.copy()
        self._dirty: set[Key] = set()
        self._unsaved: set[Key] = set()
        self._saved: set[Key] = set()  # keys the saved candidate holds
        self.owners = Owners()  # who edited each dirty entry
        self.privates: dict[int, PrivateCandidate] = {}  # by session id
        self.candidate_log = os.path.join(self.state_dir, candlog.LOG_NAME)
        self._load_candidate(records)
        if records:
            self._checkpoint()

    # --- candidate bookkeeping ---------------------------------------------------------

    @property
    def candidate_dirty(self) -> bool:
        return bool(self._dirty)

    @property
    def dirty_keys(self) -> frozenset[Key]:
        return frozenset(self._dirty)

    def mark_dirty(self, keys: Iterable[Key] | None = None, by: Editor = EARLIER) -> None:
        """Note that `by` edited the candidate at these entries (None: possibly all of them)."""
        if keys is None:
            every = set(self.running.keys()) | set(self.candidate.keys())
            self._dirty |= every
            self._unsaved |= every
            self.owners.add(every, by)
            return
        keys = list(keys)
        for key in keys:
            check_name(key, self.schema)
            self._dirty.add(key)
            self._unsaved.add(key)
        self.owners.add(keys, by)

    def open_private(self, session_id: int) -> PrivateCandidate:
        """The session's private candidate, a copy of running made now if it has none."""
        found = self.privates.get(session_id)
        if found is None:
            found = self.privates[session_id] = PrivateCandidate(self.running, self.schema)
        return found

    def candidate_of(self, session_id: int) -> Datastores | PrivateCandidate:
        """What the session edits as its candidate: its private one, or the shared one."""
        return self.privates.get(session_id) or self

    def changes_by_editor(self) -> dict[Key, tuple[Editor, ...]]:
        """The candidate's entries that differ from running, with who edited them."""
        out: dict[Key, tuple[Editor, ...]] = {}
        for key in sorted(self._dirty):
            mine, theirs = self.candidate.get(key), self.running.get(key)
            if mine is None and theirs is None:
                continue
            if mine is not None and theirs is not None and same(mine, theirs):
                continue
            out[key] = self.owners.of(key) or (EARLIER,)
        return out

    def discard_candidate(self) -> None:
        """Candidate := running, copying back only the dirty entries (O(change))."""
        if self._saved:
            self.wal.commit([CandidateSave(candlog.body([]), reset=True)])
        for key in self._dirty:
            el = self.running.get(key)
            self.candidate.set_entry(key, clone(el) if el is not None else None)
        self._dirty.clear()
        self._unsaved.clear()
        self._saved.clear()
        self.owners.clear()

    def _step(self, name: str) -> None:
        if self._hook is not None:
            self._hook(name)

    def save_candidate(self) -> None:
        """Persist the candidate's entries edited since the last save: one log record.

        The record names each such entry, its deletion from the candidate while running has
        it, or that it is no longer edited. It is not flushed: it survives hvd's crash or
        restart (the kernel holds it), and the next commit's flush takes it to disk; a power
        failure before that can lose uncommitted candidate edits, never a commit (netopeer2
        keeps its candidate in shared memory, lost at every reboot).
        """
        items: list[tuple[Key, etree._Element | str | None]] = []
        for key in sorted(self._unsaved):
            el = self.candidate.get(key)
            if el is not None or self.running.get(key) is not None:
                items.append((key, el))
            elif key in self._saved:
                items.append((key, candlog.FORGET))
        if items:
            self.wal.commit([CandidateSave(candlog.body(items))], flush=False)
        for key, value in items:
            if value is candlog.FORGET:
                self._saved.discard(key)
            else:
                self._saved.add(key)
        self._unsaved.clear()
        self._maybe_checkpoint()

    def _load_candidate(self, records: list[list[Op]]) -> None:
        # The temp file of a snapshot that never replaced the old one.
        remove_temps(self.state_dir, [n for n in os.listdir(self.state_dir)
                                      if n.startswith(candlog.LOG_NAME + ".")])
        saved = candlog.saved_candidate(self.candidate_log, records, self.wal.path)
        for key, value in candlog.live(saved).items():
            checked_key(key[0], key[1], self.schema, self.candidate_log)
            self.candidate.set_entry(key, value if not isinstance(value, str) else None)
            self._saved.add(key)
            self._dirty.add(key)
        self.owners.add(self._dirty, EARLIER)
        if self.schema is not None and self._saved:
            validate_loaded(self.schema, self.candidate, self.root_dir, "saved candidate ")

    # --- the log ---------------------------------------------------------------------

    @property
    def files_after_reply(self) -> bool:
        """While True, writes leave their files (and a due checkpoint) to write_pending(),
        which the transport calls once the reply is sent: the log holds them already, and
        the client need not wait for them."""
        return self.wal.files_after_reply

    @files_after_reply.setter
    def files_after_reply(self, on: bool) -> None:
        self.wal.files_after_reply = on

    @property
    def has_pending(self) -> bool:
        return self.wal.has_pending or self.wal.wants_checkpoint()

    def write_pending(self) -> None:
        self.wal.write_pending()
        self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        """Fold the log in when it is big, or behind; a failure leaves it to the log."""
        if self.wal.wants_checkpoint() and not self.wal.files_after_reply:
            try:
                self._checkpoint()
            except OSError:
                log.exception("checkpoint of %s failed; the log keeps every change",
                              self.wal.path)

    def _checkpoint(self) -> None:
        """Fold the log into the files and the candidate snapshot, then empty it."""
        self.wal.checkpoint(lambda: candlog.write_snapshot(
            self.candidate_log, [(k, self.candidate.get(k)) for k in sorted(self._saved)],
            fsync=self.fsync))

    def close(self) -> None:
        """At a clean stop: fold the log in, so the files alone say everything."""
        if self.wal.size:
            self._checkpoint()
        self.wal.close()

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

    def _write(self, changes: Changes, meta: CommitMeta, *, from_candidate: bool) -> int:
        written: dict[Key, etree._Element | None] = {}
        logged: dict[Key, tuple[bytes | None, bytes | None]] = {}  # history images
        rec_id = self.history.last_id + 1
        for key, after in changes.items():
            check_name(key, self.schema)
            if after is not None and key_of(after) != key:
                raise InvalidValue(f"entry {key_of(after)!r} given for key {key!r}")
        ops: list[Op] = []
        for key, after in changes.items():
            before = self.running.get(key)
            if before is None and after is None:
                continue
            if before is not None and after is not None and same(before, after):
                continue  # equal but for namespace prefixes or layout: nothing to write
            old = compact(before) if before is not None else None
            new = compact(after) if after is not None else None
            written[key] = mine = clone(after) if after is not None else None
            ops.append(Entry(entry_rel(key), new, mine) if new is not None
                       else Delete(entry_rel(key), rmdir=True))
            logged[key] = (old, new)
        if from_candidate and self._saved & changes.keys():
            rest = [(k, self.candidate.get(k)) for k in sorted(self._saved - changes.keys())
                    if k in self.candidate or k in self.running]
            ops.append(CandidateSave(candlog.body(rest), reset=True))
        rec, dropped, history_ops = self.history.prepare(rec_id, meta, logged, self.root_dir)
        self.wal.commit(ops, deferred=history_ops)
        self.history.register(rec, dropped)
        for key, mine in written.items():
            self.running.set_entry(key, mine)
        for key, after in changes.items():
            if from_candidate and after is not None and after is self.candidate.get(key):
                pass  # the candidate already holds exactly what running now has a copy of
            elif from_candidate or key not in self._dirty:
                el = self.running.get(key)
                self.candidate.set_entry(key, clone(el) if el is not None else None)
            if from_candidate:
                self.owners.forget((key,))
                self._dirty.discard(key)
                self._unsaved.discard(key)
                self._saved.discard(key)
        self._maybe_checkpoint()
        return rec_id
