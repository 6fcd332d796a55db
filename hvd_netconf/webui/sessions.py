"""Browser sessions of the web interface: an unguessable token in a `__Host-` cookie.

The cookie is Secure, HttpOnly and SameSite=Strict, so a script cannot read it and another
site cannot make the browser send it. A state-changing request must also carry the session's
CSRF token in a header (which only a page of this origin can read, from /ui/session). A
session ends at logout, after IDLE seconds unused, or MAX_AGE seconds after login, whichever
comes first; its end is told to whoever listens (the console closes its WebSockets).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hvd_netconf.restconf.auth import Identity

COOKIE = "__Host-hvd-session"
CSRF_HEADER = "X-Hvd-Csrf"
IDLE = 30 * 60.0
MAX_AGE = 12 * 3600.0
MAX_SESSIONS = 1024


@dataclass
class WebSession:
    token: str
    who: Identity
    csrf: str
    born: float
    seen: float
    on_end: list[Callable[[], None]] = field(default_factory=list)


class Sessions:
    """The live browser sessions, by token; thread-safe (the loop and workers use it)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_token: dict[str, WebSession] = {}
        self._mutex = threading.Lock()

    def create(self, who: Identity) -> WebSession:
        now = self._clock()
        s = WebSession(secrets.token_urlsafe(32), who, secrets.token_urlsafe(24), now, now)
        with self._mutex:
            self._expire(now)
            if len(self._by_token) >= MAX_SESSIONS:  # the oldest makes room
                oldest = min(self._by_token.values(), key=lambda x: x.seen)
                self._end(oldest)
            self._by_token[s.token] = s
        return s

    def get(self, token: str | None) -> WebSession | None:
        """The live session of a cookie's token (and it counts as used), or None."""
        if not token:
            return None
        now = self._clock()
        with self._mutex:
            s = self._by_token.get(token)
            if s is None:
                return None
            if now - s.seen > IDLE or now - s.born > MAX_AGE:
                self._end(s)
                return None
            s.seen = now
            return s

    @staticmethod
    def csrf_ok(s: WebSession, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(s.csrf.encode(), header.encode())

    def end(self, token: str) -> None:
        with self._mutex:
            s = self._by_token.get(token)
            if s is not None:
                self._end(s)

    def _expire(self, now: float) -> None:
        for s in [s for s in self._by_token.values()
                  if now - s.seen > IDLE or now - s.born > MAX_AGE]:
            self._end(s)

    def _end(self, s: WebSession) -> None:
        self._by_token.pop(s.token, None)
        for hook in s.on_end:
            hook()
        s.on_end.clear()
