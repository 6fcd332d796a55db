"""Durable file primitives: every write hvd makes under ROOT goes through here.

The rule behind them: data is on disk (fsync) before a name points at it (rename), and a
name is on disk (fsync of the directory) before anyone is told it exists.
"""

from __future__ import annotations

import contextlib
import os
import secrets


def fsync_dir(path: str) -> None:
    """Make the directory's entries (creations, renames, unlinks) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: str) -> None:
    """fsync a file already written and closed (Linux and FreeBSD allow it on O_RDONLY)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str, data: bytes, *, fsync: bool = True) -> None:
    """Create or truncate `path` with `data`, on disk when this returns (no rename)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


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
