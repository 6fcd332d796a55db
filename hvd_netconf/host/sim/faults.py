"""Injected faults: the next command starting with a given argv fails as asked.

They live in ROOT/.sim/faults.json, apart from the host state, so a test can compare the host
state; other processes opening the same host see them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any


class Faults:
    """Fault injection (a part of SimHost, which provides _locked and _write)."""

    faults_path: Path

    if TYPE_CHECKING:  # provided by PersistedState
        def _locked(self) -> AbstractContextManager[None]: ...
        def _write(self, path: Path, data: object) -> None: ...

    def inject_fault(
        self, argv_prefix: Sequence[str], stderr: str, code: int = 1, once: bool = True,
        *, spawn_error: bool = False, delay: float = 0.0,
    ) -> None:
        """The next command starting with argv_prefix fails (persisted: other processes see it).
        With spawn_error it cannot even be started: OSError(code, stderr), as when fork or exec
        fails (EAGAIN, ENOMEM, E2BIG) on FreeBSD, which is not a command's failure. With a
        delay it does not fail: it runs after that many seconds, as a command stuck on a busy
        pool would (what ran before it is logged first, so a kill meanwhile leaves it done)."""
        with self._locked():
            faults = self._faults()
            faults.append({"prefix": list(argv_prefix), "stderr": stderr, "code": code,
                           "once": once, "spawn_error": spawn_error, "delay": delay})
            self._write(self.faults_path, faults)

    def clear_faults(self) -> None:
        with self._locked():
            self._write(self.faults_path, [])

    def _faults(self) -> list[dict[str, Any]]:
        if not self.faults_path.exists():
            return []
        faults: list[dict[str, Any]] = json.loads(self.faults_path.read_text())
        return faults

    def _take_fault(self, argv: tuple[str, ...]) -> dict[str, Any] | None:
        """take_fault() for one command outside a batch (a pipe's side), persisted."""
        faults = self._faults()
        fault = take_fault(faults, argv)
        if fault is not None and fault["once"]:
            self._write(self.faults_path, faults)
        return fault



def take_fault(faults: list[dict[str, Any]], argv: tuple[str, ...]) -> dict[str, Any] | None:
    """The first fault whose prefix argv starts with, removed from faults when it fires once."""
    for i, f in enumerate(faults):
        if tuple(f["prefix"]) == argv[: len(f["prefix"])]:
            if f["once"]:
                del faults[i]
            return f
    return None
