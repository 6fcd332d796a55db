"""The guest `hvd selftest` boots on FreeBSD, built from the host's own files (no download).

A small UFS image made with makefs(8) holds the host's running kernel, its loader scripts and
two programs of /rescue (a statically linked crunch binary, so no libraries are needed).
bhyveload(8) boots it from the VM's zvol; the kernel prints its banner on the nmdm console and,
per the loader.conf written here, either
- `graceful`: mounts the image as root and runs /rescue/init in single-user mode, so the ACPI
  power button (bhyve's answer to SIGTERM) makes init(8) power the guest off; or
- `stubborn`: looks for a root disk that does not exist and waits at the mountroot prompt,
  where nothing handles the power button, so a stop must escalate to
  `bhyvectl --force-poweroff`.
See docs/selftest.md.
"""

from __future__ import annotations

import os
import select
import shutil
import termios
import threading
import tty
from pathlib import Path

from hvd_netconf.host.backend import Host

RESCUE = ("init", "sh")
BANNER = "Copyright (c) 1992-"
VARIANTS = ("graceful", "stubborn")


def loader_conf(variant: str) -> str:
    """loader.conf(5) of the guest: no menu, the serial port (COM1 at 0x3f8) as the console."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown guest variant {variant!r}")
    root = "ufs:/dev/vtbd0" if variant == "graceful" else "ufs:/dev/hvd-selftest-no-such-disk"
    return "".join(f'{k}="{v}"\n' for k, v in (
        ("autoboot_delay", "0"),
        ("beastie_disable", "YES"),
        ("boot_serial", "YES"),
        ("hw.uart.console", "io:1016,br:115200"),
        ("vfs.root.mountfrom", root),
        ("vfs.mountroot.timeout", "1"),
        ("init_path", "/rescue/init"),
        ("init_shell", "/rescue/sh"),
    ))


def kernel_path(host: Host) -> Path:
    """The kernel the host booted (kern.bootfile), so the guest runs the very same one."""
    return Path(host.sysctl("kern.bootfile"))


def missing_files(host: Host) -> list[str]:
    """What the image needs from the host and the host lacks."""
    need = [kernel_path(host), Path("/boot/lua"), Path("/boot/defaults/loader.conf"),
            Path("/boot/userboot.so"), *(Path("/rescue") / p for p in RESCUE)]
    return [str(p) for p in need if not p.exists()]


def stage_tree(host: Host, where: Path, variant: str) -> Path:
    """The directory makefs turns into the image; /rescue's programs are hard links to one
    copy of the crunch binary."""
    tree = where / f"guest-{variant}"
    boot = tree / "boot"
    (boot / "kernel").mkdir(parents=True)
    (boot / "defaults").mkdir()
    shutil.copy2(kernel_path(host), boot / "kernel" / "kernel")
    shutil.copytree("/boot/lua", boot / "lua")
    shutil.copy2("/boot/defaults/loader.conf", boot / "defaults" / "loader.conf")
    (boot / "loader.conf").write_text(loader_conf(variant))
    rescue = tree / "rescue"
    rescue.mkdir()
    shutil.copy2(Path("/rescue") / RESCUE[0], rescue / RESCUE[0])
    for prog in RESCUE[1:]:
        os.link(rescue / RESCUE[0], rescue / prog)
    (tree / "dev").mkdir()
    return tree


def makefs(image: Path, tree: Path) -> tuple[str, ...]:
    """`makefs -t ffs -o version=2 IMAGE DIR` (makefs(8)): a UFS2 image of just the files."""
    return ("makefs", "-t", "ffs", "-o", "version=2", str(image), str(tree))


CHUNK = 1 << 20


def write_image(image: Path, device: str) -> None:
    """Copy the image onto the start of the zvol's device node, the last chunk padded with
    zeros: a character device takes only whole sectors."""
    with open(image, "rb") as src, open(device, "r+b", buffering=0) as dst:
        while chunk := src.read(CHUNK):
            if len(chunk) % 65536:
                chunk += bytes(65536 - len(chunk) % 65536)
            dst.write(chunk)
        os.fsync(dst.fileno())


class Console:
    """Reads the nmdm B side for the VM's lifetime. It is put in raw mode at once: with echo
    on, the guest would read its own output back as keyboard input."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd, termios.TCSANOW)
        self._lock = threading.Lock()
        self._text = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="console", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                return
            with self._lock:
                self._text += data.decode("utf-8", "replace")

    def text(self) -> str:
        with self._lock:
            return self._text

    def clear(self) -> None:
        with self._lock:
            self._text = ""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        os.close(self.fd)
