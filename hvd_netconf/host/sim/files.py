"""Files in the sim's file systems: truncate(1) and rm(1) of a file disk's image, the mount
directory a new filesystem gets, and the files a filesystem's snapshot keeps.

The sim touches files only below its root's parent (hvd's root, where the simulated parent
dataset is mounted): a path elsewhere is refused as not simulated, never written. A
filesystem's snapshot keeps a sparse copy of each regular file in its mount directory (not of
child file systems, which have their own), in .sim/fs/<dataset>@<snap>/, and a rollback puts
them back, as ZFS's copy on write would.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from hvd_netconf.host.sim.commands import Fail, State, unknown

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
FILE_MAX = 1 << 40  # as the zvols' stand-ins: a Linux file system's limit stays out of reach


class Files:
    """(A part of SimHost.)"""

    dir: Path
    _replaying: bool

    if TYPE_CHECKING:
        def _value(self, st: State, name: str, prop: str, local_only: bool
                   ) -> tuple[str, str]: ...

    def _inside(self, path: str, argv: tuple[str, ...]) -> Path:
        p = Path(path)
        root = self.dir.parent.resolve()
        if not p.is_absolute() or not p.resolve().is_relative_to(root) or \
                p.resolve().is_relative_to(self.dir.resolve()):
            unknown(argv)  # outside the simulated host's files
        return p

    def _truncate(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        if len(args) != 3 or args[0] != "-s":
            unknown(argv)
        size_text, path = args[1], args[2]
        unit = size_text[-1:].upper() if size_text[-1:].isalpha() else ""
        digits = size_text[:-1] if unit else size_text
        if unit not in _UNITS or not digits.isdigit():
            raise Fail(f"truncate: invalid size argument `{size_text}'")
        p = self._inside(path, argv)
        if self._replaying:
            return
        if not p.parent.is_dir():
            raise Fail(f"truncate: {path}: No such file or directory")
        with open(p, "ab") as f:
            f.truncate(min(int(digits) * _UNITS[unit], FILE_MAX))

    def _rm(self, st: State, args: tuple[str, ...], out: list[str],
            argv: tuple[str, ...]) -> None:
        if len(args) != 2 or args[0] != "-f":
            unknown(argv)
        p = self._inside(args[1], argv)
        if not self._replaying:
            p.unlink(missing_ok=True)

    def _mount_dir(self, st: State, name: str) -> Path | None:
        """A filesystem's mount directory, when it is one of the sim's own files."""
        mountpoint, _source = self._value(st, name, "mountpoint", False)
        if not mountpoint.startswith("/"):
            return None  # none, legacy
        path, sim_dir = Path(mountpoint).resolve(), self.dir.resolve()
        if not path.is_relative_to(sim_dir.parent) or sim_dir.is_relative_to(path):
            return None
        return path

    def _mount(self, st: State, name: str) -> None:
        """A new filesystem is mounted: its directory is there, as after `zfs create`."""
        path = None if self._replaying else self._mount_dir(st, name)
        if path is not None:
            path.mkdir(parents=True, exist_ok=True)

    def _fs_copy(self, name: str) -> Path:
        return self.dir / "fs" / name.replace("/", "%")

    def _keep_files(self, st: State, dataset: str, snap: str) -> None:
        path = None if self._replaying else self._mount_dir(st, dataset)
        if path is None or not path.is_dir():
            return
        kept = self._fs_copy(f"{dataset}@{snap}")
        kept.mkdir(parents=True, exist_ok=True)
        for f in path.iterdir():
            if f.is_file() and not f.is_symlink():
                sparse_copy(f, kept / f.name)

    def _restore_files(self, st: State, dataset: str, snap: str) -> None:
        path = None if self._replaying else self._mount_dir(st, dataset)
        kept = self._fs_copy(f"{dataset}@{snap}")
        if path is None or not kept.is_dir():
            return
        for f in path.iterdir():
            if f.is_file() and not f.is_symlink():
                f.unlink()
        for f in kept.iterdir():
            sparse_copy(f, path / f.name)

    def _forget_files(self, dataset: str, snap: str) -> None:
        if not self._replaying:
            shutil.rmtree(self._fs_copy(f"{dataset}@{snap}"), ignore_errors=True)


def sparse_copy(src: Path, dst: Path) -> None:
    """dst := src, holes kept: only the extents SEEK_DATA finds are copied."""
    tmp = dst.with_name(dst.name + ".tmp")
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        size = os.fstat(fin.fileno()).st_size
        fout.truncate(size)
        pos = 0
        while pos < size:
            try:
                start = os.lseek(fin.fileno(), pos, os.SEEK_DATA)
            except OSError:  # ENXIO: nothing but a hole to the end
                break
            end = os.lseek(fin.fileno(), start, os.SEEK_HOLE)
            fin.seek(start)
            fout.seek(start)
            left = end - start
            while left:
                chunk = fin.read(min(left, 1 << 20))
                fout.write(chunk)
                left -= len(chunk)
            pos = end
    os.replace(tmp, dst)
