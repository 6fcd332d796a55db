"""Handles on a guest process and the thread that waits for it to exit.

A child (started by this hvd) is waited for, which also reaps it and yields the exit status.
An adopted process (started by an earlier hvd) is not our child: it is polled, and its exit
status is unknown.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Callable
from typing import Protocol

ExitCallback = Callable[[int | None], None]


class GuestProcess(Protocol):
    pid: int

    def send(self, sig: int) -> bool:
        """Signal this process only; False when it is already gone."""
        ...

    def wait_exit(self, closing: threading.Event) -> tuple[bool, int | None]:
        """Block until it exits (True, status) or hvd detaches (False, None)."""
        ...


class ChildProcess:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid

    def send(self, sig: int) -> bool:
        if self.proc.poll() is not None:
            return False
        # Popen refuses to signal a reaped child, so a reused pid is never hit.
        self.proc.send_signal(sig)
        return True

    def wait_exit(self, closing: threading.Event) -> tuple[bool, int | None]:
        code = self.proc.wait()
        return (not closing.is_set(), code)


class AdoptedProcess:
    """A guest an earlier hvd started. kill(pid, 0) alone would take a zombie or a reused pid
    for the guest, so a zombie counts as gone, the host confirms the process is still this
    VM's bhyve every `recheck` seconds, and always before it is signalled."""

    def __init__(self, pid: int, interval: float, is_ours: Callable[[], bool],
                 recheck: float = 10.0) -> None:
        self.pid = pid
        self.interval = interval
        self.is_ours = is_ours
        self.every = max(1, round(recheck / interval)) if interval > 0 else 1

    def _zombie(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as f:
                return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
        except (OSError, IndexError):
            return False  # no procfs (FreeBSD): init reaps orphans at once there

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return not self._zombie()

    def send(self, sig: int) -> bool:
        if not self.alive() or not self.is_ours():
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)
            return True
        return False

    def wait_exit(self, closing: threading.Event) -> tuple[bool, int | None]:
        polls = 0
        while self.alive():
            polls += 1
            if polls % self.every == 0 and not self.is_ours():
                break  # the pid now belongs to another process: the guest is gone
            if closing.wait(self.interval):
                return (False, None)
        return (True, None)


def watch(proc: GuestProcess, closing: threading.Event, on_exit: ExitCallback,
          name: str) -> threading.Thread:
    """Start the watcher thread; on_exit runs in it unless hvd detached meanwhile."""

    def run() -> None:
        exited, code = proc.wait_exit(closing)
        if exited:
            on_exit(code)

    thread = threading.Thread(target=run, name=f"hvd-watch-{name}", daemon=True)
    thread.start()
    return thread
