"""Durable file primitives: every write hvd makes under ROOT goes through here.

The rule behind them: data is on disk (fsync) before a name points at it (rename), and a
name is on disk (fsync of the directory) before anyone is told it exists.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _fsync_path(path: str, flags: int) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Make the directory's entries (creations, renames, unlinks) durable."""
    _fsync_path(path, os.O_DIRECTORY)


def fsync_file(path: str) -> None:
    """fsync a file already written and closed (Linux and FreeBSD allow it on O_RDONLY)."""
    _fsync_path(path, 0)


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_POOL_SIZE = 8


def _libc(name: str, argtypes: list[Any]) -> Callable[..., int] | None:
    """A Linux-only libc call, or None (FreeBSD has neither syncfs nor renameat2)."""
    try:
        fn: ctypes._CFunctionType = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (AttributeError, OSError):
        return None
    fn.argtypes = argtypes
    return fn


# FreeBSD's sync(2) does not wait: without syncfs each file is fsynced.
_SYNCFS = _libc("syncfs", [ctypes.c_int])


def syncfs(path: str) -> bool:
    """Flush the whole file system holding `path` and wait (Linux); False if unavailable."""
    if _SYNCFS is None:
        return False
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _SYNCFS(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)
    return True


def fsync_all(files: Sequence[str], dirs: Sequence[str]) -> None:
    """fsync many files and directories concurrently and wait for all of them.

    Serial fsyncs cost one disk flush each; issued together, the file system commits them
    in one go (ext4's journal and ZFS's ZIL both batch concurrent syncs).
    """
    jobs = [(fsync_file, f) for f in files] + [(fsync_dir, d) for d in dirs]
    if len(jobs) <= 1:
        for fn, path in jobs:
            fn(path)
        return
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(_POOL_SIZE, thread_name_prefix="hvd-fsync")
        pool = _POOL
    for fut in [pool.submit(fn, path) for fn, path in jobs]:
        fut.result()


# ZFS makes no rename wait as ext4 does (below): os.replace() is right there.
_RENAMEAT2 = _libc("renameat2", [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                  ctypes.c_char_p, ctypes.c_uint])
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def swap_in(tmp: str, target: str) -> None:
    """Put `tmp` in place of `target` atomically for readers, like os.replace(), and remove
    the old file.

    On Linux the two names are exchanged (renameat2 RENAME_EXCHANGE) and the old file, now
    under `tmp`, is unlinked: ext4 makes a rename over an existing file wait for the new
    file's blocks to be allocated (its auto_da_alloc guard), four times the cost. hvd needs
    no such guard: its write-ahead log restores any file a crash leaves short.
    """
    if _RENAMEAT2 is not None and _RENAMEAT2(_AT_FDCWD, tmp.encode(), _AT_FDCWD,
                                             target.encode(), _RENAME_EXCHANGE) == 0:
        os.unlink(tmp)
        return
    os.replace(tmp, target)  # no target yet, or no exchange here: a plain rename


def write_all(path: str, data: bytes, flags: int, sync: Callable[[int], None] | None) -> None:
    """Open with `flags`, write every byte, then `sync` the descriptor (None: no sync)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if sync is not None:
            sync(fd)
    finally:
        os.close(fd)


def write_file(path: str, data: bytes, *, fsync: bool = True) -> None:
    """Create or truncate `path` with `data`, on disk when this returns (no rename)."""
    write_all(path, data, os.O_TRUNC, os.fsync if fsync else None)


def make_dirs(path: str, *, fsync: bool = True) -> None:
    """mkdir -p whose new directories survive a crash (each parent fsynced)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(path)
    make_dirs(parent, fsync=fsync)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    if fsync:
        fsync_dir(parent)


def atomic_write(path: str, data: bytes, *, fsync: bool = True) -> None:
    """Replace `path` with `data` all or nothing: temp file, fsync, rename, fsync directory.

    After a crash the file holds either the old or the new bytes, never a mix.
    """
    directory = os.path.dirname(path) or "."
    make_dirs(directory, fsync=fsync)
    tmp = f"{path}.{secrets.token_hex(6)}.tmp"
    try:
        write_file(tmp, data, fsync=fsync)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        fsync_dir(directory)


def remove_file(path: str, *, fsync: bool = True) -> bool:
    """Unlink durably; False when there was nothing to remove."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    if fsync:
        fsync_dir(os.path.dirname(path) or ".")
    return True
