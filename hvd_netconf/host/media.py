"""Argv builders for guest media: downloading an installation image, and writing a disk image
onto a zvol (docs/freebsd-facts.md §16.1, §16.3). Pure functions, like host/bhyve.py and
host/zfs.py."""

from __future__ import annotations

FETCH = "fetch"
URL_SCHEMES = ("http://", "https://", "ftp://")  # what fetch(1) fetches that hvd accepts


def is_url(source: str) -> bool:
    return source.lower().startswith(URL_SCHEMES)


def fetch(url: str, dest: str) -> tuple[str, ...]:
    """`fetch -o <dest> <url>` (fetch(1)): one file, written to dest."""
    return (FETCH, "-o", dest, url)


DD = "dd"
QEMU_IMG = "qemu-img"
QCOW2_MAGIC = b"QFI\xfb"  # the first four bytes of every qcow2 image (§16.3)


def image_format(head: bytes) -> str:
    """raw or qcow2, from an image's first bytes."""
    return "qcow2" if head.startswith(QCOW2_MAGIC) else "raw"


def write_raw(image: str, device: str) -> tuple[str, ...]:
    """`dd if=<image> of=<device> bs=1m` (dd(1)): the image, byte for byte, in 1 MiB blocks."""
    return (DD, f"if={image}", f"of={device}", "bs=1m")


def convert_qcow2(image: str, device: str) -> tuple[str, ...]:
    """`qemu-img convert -f qcow2 -O raw <image> <device>` (qemu-img(1)): the guest's disk as
    raw blocks onto the device."""
    return (QEMU_IMG, "convert", "-f", "qcow2", "-O", "raw", image, device)
