"""The one small interface between hvd and a host: run argv, spawn a guest, read back state.

Two implementations: host.freebsd (runs the commands) and host.sim (interprets the same argv
lists against a JSON state file, for Linux); host.selection picks one. Nothing above this
interface runs a command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

# What one command of a batch came to: its stdout, the exception it raised (CommandFailed
# naming its argv and stderr, or a spawn error), or None: it was never started.
Outcome = str | BaseException | None


class CommandFailed(Exception):
    """A host command exited non-zero; stderr is kept word for word for the rpc-error."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv: tuple[str, ...] = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(self.argv)}: exit {returncode}: {stderr.strip()}")


@runtime_checkable
class Host(Protocol):
    """What the apply engine and the VM supervisor need from a host."""

    name: str  # "freebsd" | "sim"
    simulated: bool

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        """Run argv (no shell), with stdin as its input (none: /dev/null); return stdout;
        raise CommandFailed on a non-zero exit."""
        ...

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        """Start bhyve/bhyveload as a child with stderr appended to log_path."""
        ...

    def vmm_instances(self) -> set[str]:
        """Names under /dev/vmm."""
        ...

    def process_matches(self, pid: int, vm: str) -> bool:
        """Is pid a live bhyve process for vm (never trust a pid alone)."""
        ...

    def sysctl(self, name: str) -> str:
        """The value of one sysctl, as text."""
        ...

    def console_path(self, vm: str) -> str:
        """The device the operator opens for the VM's COM1: the nmdm B side."""
        ...


@runtime_checkable
class BatchHost(Protocol):
    """A host that runs many independent commands in one call: the sim in one pass under its
    lock, FreeBSD with a bounded number at once (docs/freebsd-facts.md §15)."""

    def run_batch(self, argvs: Sequence[Sequence[str]], *, keep_going: bool = False
                  ) -> list[Outcome]:
        """Run argvs, which must not depend on one another; one Outcome each, in order. After
        a failure no further command is started unless keep_going (commands already under way
        finish). An Exception of one command is its outcome, never raised, so the caller knows
        which commands ran."""
        ...


def run_batch(host: Host, argvs: Sequence[Sequence[str]], *, keep_going: bool = False
              ) -> list[Outcome]:
    """host.run_batch when the host has one, else the commands one by one with the same
    Outcomes (a host that only runs: a test's wrapper, a recording host)."""
    if isinstance(host, BatchHost):
        return host.run_batch(argvs, keep_going=keep_going)
    out: list[Outcome] = [None] * len(argvs)
    for i, argv in enumerate(argvs):
        try:
            out[i] = host.run(argv)
        except Exception as e:  # handed back as the command's outcome
            out[i] = e
            if not keep_going:
                break
    return out
