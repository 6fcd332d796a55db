"""Golden argv of the guest-media builders (host/media.py), from their manual pages."""

from __future__ import annotations

from hvd_netconf.host import media


def test_fetch_argv_is_fetch_1() -> None:
    # fetch(1): -o file writes the download to file
    assert media.fetch("https://download.freebsd.org/x/disc1.iso", "/hv/iso/.disc1.iso.part") \
        == ("fetch", "-o", "/hv/iso/.disc1.iso.part", "https://download.freebsd.org/x/disc1.iso")


def test_only_http_https_ftp_are_urls() -> None:
    assert media.is_url("HTTPS://a/b.iso") and media.is_url("ftp://a/b.iso")
    assert not media.is_url("/tmp/b.iso") and not media.is_url("file:///tmp/b.iso")


def test_dd_and_qemu_img_argv() -> None:
    dev = "/dev/zvol/zroot/hv/vm/web/disks/disk0"
    # dd(1): if=, of=, bs=1m
    assert media.write_raw("/hv/img/jammy.raw", dev) == (
        "dd", "if=/hv/img/jammy.raw", f"of={dev}", "bs=1m")
    # qemu-img(1): convert -f <in format> -O <out format> <in> <out>
    assert media.convert_qcow2("/hv/img/jammy.img", dev) == (
        "qemu-img", "convert", "-f", "qcow2", "-O", "raw", "/hv/img/jammy.img", dev)


def test_qcow2_is_told_by_its_magic() -> None:
    assert media.image_format(b"QFI\xfb\x00\x00\x00\x03") == "qcow2"
    assert media.image_format(b"\xebc\x90\x00") == "raw" and media.image_format(b"") == "raw"
