"""The simulated host's state, kept in memory and on disk.

The state is kept in memory and on disk as a snapshot, ROOT/.sim/host.json, plus an
append-only log, ROOT/.sim/host.log: one JSON line per command that can change the state
(`{"seq": n, "run": argv}`, `{"seq": n, "spawn": vm, "pid": pid}`), appended after the
command ran and before it returns. So a command costs one short append, not a rewrite of the
whole host, and the state is the snapshot (whose `seq` says how many logged commands it holds)
with the later log lines replayed through the same interpreter. Once the log outgrows the
snapshot, a new snapshot is written (temp file, fsync, rename) and the log emptied: the cost
of that is amortized over the commands logged since. Replay touches no file outside .sim: the
zvol files already are as the commands left them.

Several processes (hvd, a test, hv) may open one host: every command holds an flock, and an
instance that finds the snapshot replaced or the log grown reads what changed first.

A crash of hvd mid-commit leaves exactly the commands that returned (and possibly the one
running, as on a real host): the log is written before a command returns, and the page cache
keeps it. The log is not fsynced: a power loss can forget the last commands of the simulated
host, which stands in for a host and holds nothing of value beyond a test run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hvd_netconf.host.sim.commands import Fail, State

COMPACT_AT = 1 << 20  # bytes of log before a new snapshot, unless the snapshot is larger


class PersistedState:
    """The state's snapshot, log and flock (a part of SimHost, which sets the attributes)."""

    dir: Path
    state_path: Path
    log_path: Path
    _lock_path: Path
    _st: State
    _seq: int
    _snapshot: tuple[int, int, int] | None
    _offset: int
    _log_size: int
    _replaying: bool
    _input: str | None
    _kids: dict[str, set[str]]

    if TYPE_CHECKING:  # provided by Zfs and SimHost
        def _adopt(self, name: str) -> None: ...
        def _dispatch(self, st: State, argv: tuple[str, ...], out: list[str]) -> None: ...
        def _received(self, st: State, summary: dict[str, Any]) -> None: ...

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_snapshot(self) -> None:
        with open(self.state_path, "rb") as f:
            st = os.fstat(f.fileno())
            data = json.loads(f.read())
        self._seq = data.pop("seq", 0)
        self._st = data
        self._kids = {}
        for name in data["datasets"]:
            self._adopt(name)
        self._snapshot = (st.st_ino, st.st_mtime_ns, st.st_size)
        self._offset = 0

    def _refresh(self) -> None:
        """Catch up with what other instances did: a new snapshot, then new log lines."""
        st = self.state_path.stat()
        if self._snapshot != (st.st_ino, st.st_mtime_ns, st.st_size):
            self._read_snapshot()
        try:
            size = self.log_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._offset:  # emptied by a compaction whose snapshot we have not read
            self._read_snapshot()
        if size > self._offset:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            self._offset += self._replay(data)
        self._log_size = size

    def _replay(self, data: bytes) -> int:
        """Apply the whole log lines in data; return how many bytes they take. A torn or bad
        line ends the log: it was being written when its writer died, so its command had not
        returned. Lines the snapshot already holds (left by a crash amid a compaction) are
        skipped."""
        pos = 0
        while (end := data.find(b"\n", pos)) >= 0:
            try:
                entry = json.loads(data[pos:end])
                seq = entry["seq"]
            except (ValueError, KeyError, TypeError):
                break
            if seq > self._seq + 1:
                break
            if seq == self._seq + 1:
                self._apply(entry)
                self._seq = seq
            pos = end + 1
        return pos

    def _apply(self, entry: dict[str, Any]) -> None:
        if "spawn" in entry:
            self._st["vmm"][entry["spawn"]] = {"pid": entry["pid"]}
            return
        self._replaying = True
        self._input = entry.get("stdin")
        try:
            if "recv" in entry:  # a stream's effect: the stream itself is not logged
                self._received(self._st, entry["recv"])
                return
            self._dispatch(self._st, tuple(entry["run"]), [])
        except Fail:
            pass  # it failed the same way when it ran; what it did before failing is redone
        finally:
            self._replaying = False

    def _log(self, entry: dict[str, Any]) -> None:
        """Append one command to the log (no fsync: see the module docstring)."""
        self._log_many([entry])

    def _log_many(self, entries: list[dict[str, Any]]) -> None:
        """Append commands to the log in one write."""
        if not entries:
            return
        if self._log_size > self._offset:  # a torn last line from a crashed writer
            os.truncate(self.log_path, self._offset)
        lines = []
        for entry in entries:
            self._seq += 1
            lines.append(json.dumps({"seq": self._seq, **entry}).encode() + b"\n")
        data = b"".join(lines)
        with open(self.log_path, "ab") as f:
            f.write(data)
        self._offset += len(data)
        self._log_size = self._offset
        # no snapshot: the memory holds a half-done change (a bug), so it is not written
        if self._snapshot is not None and self._offset > max(COMPACT_AT, self._snapshot[2]):
            self._compact()

    def _compact(self) -> None:
        """Write the state as the new snapshot and empty the log. A crash between the two
        leaves log lines the snapshot holds, which replay skips by their seq."""
        self._write(self.state_path, {**self._st, "seq": self._seq})
        st = self.state_path.stat()
        self._snapshot = (st.st_ino, st.st_mtime_ns, st.st_size)
        with open(self.log_path, "wb"):
            pass
        self._offset = self._log_size = 0

    def _write(self, path: Path, data: object) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            # one line, no indent: the C encoder, so a snapshot of 10,000 VMs costs tens of ms
            f.write(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def state(self) -> State:
        """A copy of the simulated host state (for tests and diagnostics)."""
        with self._locked():
            self._refresh()
            copied: State = json.loads(json.dumps(self._st))
            return copied
