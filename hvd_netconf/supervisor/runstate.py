"""A running VM's record on disk, ROOT/vm/<vm>/state/: what a restarted hvd needs to adopt it.

`pid` holds the bhyve pid (a hint only: adoption also asks the host whether that pid is bhyve
for this VM, docs/freebsd-facts.md §7); `run.json` holds what cannot be read back from the
host: the taps and their bridges, the argv bhyve was started with (and, as data, what its start
ran: bhyve.Launch, for the restart decision), and when.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

LOG_ROTATE_BYTES = 1 << 20
EVENTS_LOG = "vm.log"  # the supervisor's own lines about this VM (`hv log VM`)

log = logging.getLogger("hvd.supervisor")


def stamp() -> str:
    """UTC, to the millisecond, as yang:date-and-time writes it."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


@dataclass
class RunRecord:
    pid: int
    argv: list[str]
    taps: list[tuple[str, str]] = field(default_factory=list)  # (tap, bridge)
    started: float = 0.0  # wall clock, so uptime survives an hvd restart
    with_iso: bool = True
    launch: list[list[str]] = field(default_factory=list)  # bhyve.Launch.commands
    iscsi: list[tuple[str, str]] = field(default_factory=list)  # (portal, target) it added


class VmFiles:
    """Paths and atomic writes for one VM's state directory."""

    def __init__(self, root: Path, vm: str) -> None:
        self.vm_dir = Path(root) / "vm" / vm
        self.dir = self.vm_dir / "state"
        self.pid = self.dir / "pid"
        self.run = self.dir / "run.json"
        self.log = self.dir / "bhyve.log"
        self.events = self.dir / EVENTS_LOG
        self.device_map = self.dir / "device.map"
        self.uefi_vars = self.vm_dir / "uefi-vars.fd"

    def ensure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def _write(self, path: Path, text: str) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def save(self, rec: RunRecord) -> None:
        self.ensure()
        self._write(self.run, json.dumps({
            "pid": rec.pid, "argv": rec.argv, "taps": [list(t) for t in rec.taps],
            "started": rec.started, "with_iso": rec.with_iso, "launch": rec.launch,
            "iscsi": [list(s) for s in rec.iscsi],
        }, indent=1) + "\n")
        self._write(self.pid, f"{rec.pid}\n")

    def load(self) -> RunRecord | None:
        """The record, or None when there is none or it is unreadable (never trusted alone)."""
        try:
            data = json.loads(self.run.read_text())
            return RunRecord(
                pid=int(data["pid"]), argv=[str(a) for a in data["argv"]],
                taps=[(str(t), str(b)) for t, b in data.get("taps", [])],
                started=float(data.get("started", 0.0)),
                with_iso=bool(data.get("with_iso", True)),
                launch=[[str(a) for a in c] for c in data.get("launch", [])],
                iscsi=[(str(p), str(t)) for p, t in data.get("iscsi", [])],
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            return RunRecord(pid=int(self.pid.read_text().strip()), argv=[])
        except (OSError, ValueError):
            return None

    def clear(self) -> None:
        for path in (self.pid, self.run):
            path.unlink(missing_ok=True)

    def rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(self.log, self.log.with_name("bhyve.log.old"))

    def note(self, text: str) -> None:
        """One timestamped line in the VM's event log; rotated past LOG_ROTATE_BYTES to
        vm.log.old. A log that cannot be written is reported, never fatal to the VM."""
        try:
            self.ensure()
            with contextlib.suppress(FileNotFoundError):
                if self.events.stat().st_size > LOG_ROTATE_BYTES:
                    os.replace(self.events, self.events.with_name(EVENTS_LOG + ".old"))
            with open(self.events, "a") as f:
                f.write(f"{stamp()} {text}\n")
        except OSError as e:
            log.warning("cannot write %s: %s", self.events, e)

    def last_log_line(self) -> str | None:
        """bhyve's last stderr line, for the exit reason."""
        try:
            with open(self.log, "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 4096))
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return None
        lines = [line.strip() for line in lines if line.strip()]
        return lines[-1] if lines else None
