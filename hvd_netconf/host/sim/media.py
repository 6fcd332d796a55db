"""dd(1) and qemu-img(1) as the sim runs them to write a disk image onto a zvol: the image's
bytes are copied into the zvol's stand-in file. The sim's qemu-img converts nothing: it copies
the image as it is and says so on stderr, so a test sees the path taken, never a real guest
disk."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from hvd_netconf.host.sim.commands import Fail, State, unknown

ZVOL_DEV = "/dev/zvol/"


class Media:
    """The image writers (a part of SimHost, which keeps the zvols' stand-in files)."""

    _replaying: bool
    zvol_file: Callable[[str], Path]  # Zfs's: the stand-in file of a zvol

    def _volume(self, st: State, device: str, prog: str) -> tuple[Path, int]:
        """The stand-in file and volsize of the zvol behind a /dev/zvol path."""
        ds = device.removeprefix(ZVOL_DEV)
        entry = st["datasets"].get(ds) if device.startswith(ZVOL_DEV) else None
        if entry is None or entry["type"] != "volume":
            raise Fail(f"{prog}: {device}: No such file or directory")
        return self.zvol_file(ds), int(entry["props"]["volsize"])

    def _copy(self, st: State, image: str, device: str, prog: str) -> None:
        target, volsize = self._volume(st, device, prog)
        if not os.path.isfile(image):
            raise Fail(f"{prog}: {image}: No such file or directory")
        if os.path.getsize(image) > volsize:
            raise Fail(f"{prog}: {device}: end of device")
        if self._replaying:
            return
        with open(image, "rb") as src, open(target, "r+b") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)

    def _dd(self, st: State, args: tuple[str, ...], out: list[str],
            argv: tuple[str, ...]) -> None:
        """`dd if=IMAGE of=/dev/zvol/DATASET bs=1m` (the form host/media.py builds)."""
        ops = dict(a.split("=", 1) for a in args if "=" in a)
        if len(ops) != len(args) or set(ops) != {"if", "of", "bs"} or ops["bs"] != "1m":
            unknown(argv)
        self._copy(st, ops["if"], ops["of"], "dd")

    def _qemu_img(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        """`qemu-img convert -f qcow2 -O raw IMAGE /dev/zvol/DATASET`: copied, not converted."""
        if len(args) != 7 or args[:5] != ("convert", "-f", "qcow2", "-O", "raw"):
            unknown(argv)
        self._copy(st, args[5], args[6], "qemu-img")
