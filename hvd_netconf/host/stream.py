"""A `zfs send` into a `zfs receive` (or into a stream file, or from one), without a shell.

The producer's standard output goes to the consumer's standard input through this process,
which counts the bytes for progress; a progress callback that raises stops the copy. On any
failure both processes are killed and the failing command's stderr is reported, word for
word, as CommandFailed. A stream file is written beside its name and renamed into place only
when the producer succeeded, so a cut stream never looks whole.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

from hvd_netconf.host.backend import CommandFailed

Endpoint = Sequence[str] | Path
Progress = Callable[[int], None]
Tap = Callable[[bytes], None]
CHUNK = 1 << 20


@runtime_checkable
class Streamer(Protocol):
    """A host that can run a producer into a consumer (both backends do)."""

    def pipe(self, producer: Endpoint, consumer: Endpoint, *,
             progress: Progress | None = None, tap: Tap | None = None) -> int:
        """Copy producer's output (argv or file) into consumer (argv or file); return bytes.
        tap sees every chunk as it passes (a checksum taken in flight)."""
        ...


def _start(argv: Sequence[str], env: dict[str, str], *, reads: bool
           ) -> tuple[subprocess.Popen[bytes], IO[bytes]]:
    err = tempfile.TemporaryFile()  # noqa: SIM115  # closed by run_pipe, which keeps it
    try:
        proc = subprocess.Popen(
            list(argv), env=env, stderr=err,
            stdin=subprocess.PIPE if not reads else subprocess.DEVNULL,
            stdout=subprocess.PIPE if reads else subprocess.DEVNULL)
    except FileNotFoundError as e:
        err.close()
        raise CommandFailed(argv, 127, f"{argv[0]}: {e.strerror}") from e
    return proc, err


def _stderr(err: IO[bytes]) -> str:
    err.seek(0)
    return err.read().decode(errors="replace")


def run_pipe(producer: Endpoint, consumer: Endpoint, *, env: dict[str, str],
             progress: Progress | None = None, tap: Tap | None = None) -> int:
    """Run producer | consumer; return the bytes that passed. Raises CommandFailed."""
    procs: list[tuple[Sequence[str], subprocess.Popen[bytes], IO[bytes]]] = []
    moved = 0
    tmp: Path | None = None
    final = consumer if isinstance(consumer, Path) else None
    try:
        with contextlib.ExitStack() as stack:
            if isinstance(producer, Path):
                src: IO[bytes] = stack.enter_context(open(producer, "rb"))
            else:
                proc, err = _start(producer, env, reads=True)
                procs.append((producer, proc, err))
                assert proc.stdout is not None  # PIPE
                src = stack.enter_context(proc.stdout)  # closed: a producer cut off stops
            if final is not None:
                tmp = final.with_name(final.name + ".part")
                dst: IO[bytes] = stack.enter_context(open(tmp, "wb"))
            else:
                assert not isinstance(consumer, Path)
                proc, err = _start(consumer, env, reads=False)
                procs.append((consumer, proc, err))
                assert proc.stdin is not None  # PIPE
                dst = proc.stdin
            while chunk := src.read(CHUNK):
                try:
                    dst.write(chunk)
                except BrokenPipeError:
                    break  # the consumer gave up: its exit status says why
                moved += len(chunk)
                if tap is not None:
                    tap(chunk)
                if progress is not None:
                    progress(moved)
            with contextlib.suppress(BrokenPipeError):
                dst.close()
        # A producer the consumer stopped dies of SIGPIPE: then the consumer's error is the
        # cause; any other producer failure is (and cuts the consumer's stream short).
        codes = [(argv, proc.wait(), err) for argv, proc, err in procs]
        failed = [c for c in codes if c[1] not in (0, -signal.SIGPIPE)] or \
            [c for c in codes if c[1] != 0]
        if failed:
            argv, code, err = failed[0]
            raise CommandFailed(argv, code, _stderr(err))
        if tmp is not None and final is not None:
            os.replace(tmp, final)
            tmp = None
        return moved
    finally:
        for _argv, proc, err in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            err.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
