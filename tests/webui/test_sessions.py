"""Browser sessions end at logout, when unused for IDLE, and MAX_AGE after login; whoever
waits on a session's end (its consoles) is told once."""

from __future__ import annotations

from hvd_netconf.restconf.auth import Identity
from hvd_netconf.webui.sessions import IDLE, MAX_AGE, Sessions

WHO = Identity("tester", frozenset({"admin"}))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_and_absolute_expiry() -> None:
    clock = Clock()
    sessions = Sessions(clock)
    s = sessions.create(WHO)
    ended: list[str] = []
    s.on_end.append(lambda: ended.append("ended"))
    clock.now += IDLE - 1
    assert sessions.get(s.token) is s  # used: the idle time starts again
    clock.now += IDLE - 1
    assert sessions.get(s.token) is s
    clock.now += IDLE + 1
    assert sessions.get(s.token) is None and ended == ["ended"]
    t = sessions.create(WHO)
    born = clock.now
    while sessions.get(t.token) is not None:  # kept busy, it still ends at MAX_AGE
        clock.now += IDLE / 2
    assert MAX_AGE < clock.now - born <= MAX_AGE + IDLE / 2


def test_tokens_csrf_and_logout() -> None:
    sessions = Sessions()
    a, b = sessions.create(WHO), sessions.create(WHO)
    assert a.token != b.token and a.csrf != b.csrf and len(a.token) >= 43  # 256 bits
    assert sessions.csrf_ok(a, a.csrf) and not sessions.csrf_ok(a, b.csrf)
    assert not sessions.csrf_ok(a, None) and not sessions.csrf_ok(a, "")
    assert sessions.get(None) is None and sessions.get("forged") is None
    ended: list[int] = []
    a.on_end.append(lambda: ended.append(1))
    sessions.end(a.token)
    sessions.end(a.token)  # twice: told once
    assert sessions.get(a.token) is None and ended == [1] and sessions.get(b.token) is b
