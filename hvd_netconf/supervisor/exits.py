"""What a bhyve exit status means (bhyve(8) EXIT STATUS; docs/freebsd-facts.md §8), and the
crash-loop guard."""

from __future__ import annotations

import signal
import time
from collections import deque
from enum import Enum

SYSEXITS = {
    64: "EX_USAGE", 65: "EX_DATAERR", 66: "EX_NOINPUT", 67: "EX_NOUSER", 68: "EX_NOHOST",
    69: "EX_UNAVAILABLE", 70: "EX_SOFTWARE", 71: "EX_OSERR", 72: "EX_OSFILE",
    73: "EX_CANTCREAT", 74: "EX_IOERR", 75: "EX_TEMPFAIL", 76: "EX_PROTOCOL",
    77: "EX_NOPERM", 78: "EX_CONFIG",
}


class ExitKind(Enum):
    REBOOT = "reboot"  # on-reboot
    POWEROFF = "poweroff"  # on-poweroff (also halt)
    CRASH = "crash"  # on-crash
    UNKNOWN = "unknown"  # an adopted process: hvd is not its parent and saw no status


def kind(code: int | None) -> ExitKind:
    if code is None:
        return ExitKind.UNKNOWN
    if code == 0:
        return ExitKind.REBOOT
    if code in (1, 2):
        return ExitKind.POWEROFF
    return ExitKind.CRASH


def describe(code: int | None) -> str:
    """The exit in words; a negative code is Popen's 'killed by signal -code'."""
    if code is None:
        return "bhyve exited; status unknown (hvd was restarted since it started this VM)"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        return f"bhyve was killed by signal {-code} ({name})"
    words = {
        0: "the guest rebooted",
        1: "the guest powered off",
        2: "the guest halted",
        3: "the guest triple-faulted",
        4: "bhyve exited on an error",
    }.get(code)
    if words is None and code in SYSEXITS:
        words = f"bhyve failed at start-up or on a host error ({SYSEXITS[code]})"
    if words is None and code > 128:
        words = f"bhyve exited with status {code} (128 + signal {code - 128})"
    return f"{words or 'bhyve exited with an unexpected status'} (exit {code})"


class CrashGuard:
    """At most `limit` automatic restarts after crashes within `window` seconds."""

    def __init__(self, limit: int = 3, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._times: deque[float] = deque()

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] > self.window:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True

    def reset(self) -> None:
        self._times.clear()
