"""Who edited which entry of the shared candidate, so that nobody commits a change unseen.

The candidate is one datastore for every session (RFC 6241 §8.3). Each edited entry keeps the
sessions that edited it (id and user), in the order they first did; a commit or discard of the
entry forgets them. The record lives in memory: entries of a candidate saved before hvd
restarted are owned by EARLIER, a session of no one still here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hvd_netconf.keys import Key


@dataclass(frozen=True, order=True)
class Editor:
    """A session that edited the candidate: its id and user."""

    session_id: int
    user: str

    def describe(self) -> str:
        if self == EARLIER:
            return "an edit saved before hvd last restarted"
        if self.session_id == RESTCONF:
            return f"RESTCONF (user {self.user})"
        return f"session {self.session_id} (user {self.user or 'unknown'})"


EARLIER = Editor(0, "")  # entries of the saved candidate loaded at start
RESTCONF = 0  # with a user: that user's RESTCONF requests, which are one editor


class Owners:
    """Per candidate entry: the editors, in the order of their first edit."""

    def __init__(self) -> None:
        self._by_key: dict[Key, list[Editor]] = {}

    def add(self, keys: Iterable[Key], editor: Editor) -> None:
        for key in keys:
            editors = self._by_key.setdefault(key, [])
            if editor not in editors:
                editors.append(editor)

    def forget(self, keys: Iterable[Key]) -> None:
        for key in keys:
            self._by_key.pop(key, None)

    def clear(self) -> None:
        self._by_key.clear()

    def of(self, key: Key) -> tuple[Editor, ...]:
        return tuple(self._by_key.get(key, ()))
