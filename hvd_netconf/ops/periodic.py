"""A pass that runs every few seconds on its own thread, and on demand (a test, a commit):
what the uplink and iSCSI watches share."""

from __future__ import annotations

import logging
import threading
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Periodic(Generic[T]):
    """Subclasses say what one pass does (_look) and how often (interval)."""

    interval = 2.0
    name = "watch"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._pass = threading.Lock()  # a pass at a time (the thread's, or one asked for)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_pass()
            except Exception:  # the thread's last resort: log, keep watching
                log.exception("%s pass failed", self.name)

    def run_pass(self) -> T:
        """One pass now; what it returns is what changed."""
        with self._pass:
            return self._look()

    def _look(self) -> T:
        raise NotImplementedError
