"""A session's private candidate (`hv configure private`, like Junos `configure private`).

A copy of running taken when the session asks for it. The session's edits go to the copy, not
to the shared candidate; its commit writes only the entries it changed, onto running as it is
then, and is refused when running changed at one of those entries since the copy was taken
(the base), so that nobody's commit is overwritten unseen. Nothing of it is saved: it ends with
its session.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hvd_netconf.keys import Key, check_name
from hvd_netconf.store.datastore import Datastore, clone, same


def _equal(a: Any, b: Any) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and same(a, b))


class PrivateCandidate:
    """Offers what ops use of the shared candidate: `candidate`, `dirty_keys`, `mark_dirty`,
    `save_candidate`, `discard_candidate`."""

    def __init__(self, running: Datastore, schema: Any = None) -> None:
        self.schema = schema
        self._running = running
        self.discard_candidate()

    @property
    def dirty_keys(self) -> frozenset[Key]:
        return frozenset(self._dirty)

    def mark_dirty(self, keys: Iterable[Key] | None = None, by: object = None) -> None:
        if keys is None:
            keys = set(self.base.keys()) | set(self.candidate.keys())
        for key in keys:
            check_name(key, self.schema)
            self._dirty.add(key)

    def save_candidate(self) -> None:
        """Nothing to save: a private candidate lives as long as its session."""

    def discard_candidate(self) -> None:
        """Start again from running as it is now."""
        self.base = self._running.copy()
        self.candidate = self.base.copy()
        self._dirty: set[Key] = set()

    def conflicts(self, keys: Iterable[Key]) -> list[Key]:
        """The entries of `keys` that running changed since the copy was taken."""
        return [k for k in sorted(keys) if not _equal(self._running.get(k), self.base.get(k))]

    def rebase(self) -> None:
        """Entries this session did not edit become running's again, so that what is
        validated and committed is running as it is now plus this session's changes."""
        for key in set(self._running.keys()) | set(self.candidate.keys()):
            if key in self._dirty:
                continue
            now = self._running.get(key)
            if not _equal(now, self.candidate.get(key)):
                self.candidate.set_entry(key, clone(now) if now is not None else None)
