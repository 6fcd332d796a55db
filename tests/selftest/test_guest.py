"""The FreeBSD side of `hvd selftest`, as far as it can be checked off FreeBSD: the guest's
loader.conf, the makefs argv from makefs(8), the write to the zvol, the console reader on a
pseudo-terminal, and the prerequisites step against kldstat(8) answers."""

from __future__ import annotations

import os
import select
from collections.abc import Sequence
from pathlib import Path

import pytest
from support.waiting import wait_for

from hvd_netconf import selftest_guest
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.selftest import SelfTest, StepFailed


def test_loader_conf_of_the_two_guests() -> None:
    assert selftest_guest.loader_conf("graceful") == (
        'autoboot_delay="0"\n'
        'beastie_disable="YES"\n'
        'boot_serial="YES"\n'
        'hw.uart.console="io:1016,br:115200"\n'
        'vfs.root.mountfrom="ufs:/dev/vtbd0"\n'
        'vfs.mountroot.timeout="1"\n'
        'init_path="/rescue/init"\n'
        'init_shell="/rescue/sh"\n')
    stubborn = selftest_guest.loader_conf("stubborn")
    assert 'vfs.root.mountfrom="ufs:/dev/hvd-selftest-no-such-disk"\n' in stubborn
    assert stubborn.replace("hvd-selftest-no-such-disk", "vtbd0") == \
        selftest_guest.loader_conf("graceful")
    with pytest.raises(ValueError, match="unknown guest variant 'x'"):
        selftest_guest.loader_conf("x")


def test_makefs_argv() -> None:
    assert selftest_guest.makefs(Path("/w/g.ufs"), Path("/w/tree")) == (
        "makefs", "-t", "ffs", "-o", "version=2", "/w/g.ufs", "/w/tree")


def test_write_image_overwrites_the_start_in_whole_64k_blocks(tmp_path: Path) -> None:
    image = tmp_path / "img"
    image.write_bytes(b"\x01" * (selftest_guest.CHUNK + 1000))
    device = tmp_path / "zvol"
    device.write_bytes(b"\xff" * (4 << 20))
    selftest_guest.write_image(image, str(device))
    data = device.read_bytes()
    assert len(data) == 4 << 20
    end = selftest_guest.CHUNK + 1000
    assert data[:end] == b"\x01" * end
    assert data[end:selftest_guest.CHUNK + 65536] == bytes(65536 - 1000)
    assert data[selftest_guest.CHUNK + 65536:] == b"\xff" * ((4 << 20) - selftest_guest.CHUNK
                                                             - 65536)


def test_console_reads_the_guest_side_raw_without_echo() -> None:
    guest, user = os.openpty()  # guest: bhyve's end (nmdm A); user: the B side hvd reads
    console = selftest_guest.Console(os.ttyname(user))
    try:
        os.write(guest, b"Copyright (c) 1992-2024 The FreeBSD Project.\r\n")
        wait_for(lambda: selftest_guest.BANNER in console.text(), 10, "the banner")
        assert console.text() == "Copyright (c) 1992-2024 The FreeBSD Project.\r\n"
        # Raw mode: nothing is echoed back to the guest as keyboard input.
        assert select.select([guest], [], [], 0.3)[0] == []
        console.clear()
        assert console.text() == ""
    finally:
        console.close()
        os.close(user)
        os.close(guest)


class _HostWithoutModules:
    """A FreeBSD host as kldstat(8) and sysctl(8) describe it: vmm and nmdm not loaded."""

    name = "freebsd"
    simulated = False

    def __init__(self) -> None:
        self.ran: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str]) -> str:
        self.ran.append(tuple(argv))
        if tuple(argv[:3]) == ("kldstat", "-q", "-m") and argv[3] in ("vmm", "nmdm"):
            raise CommandFailed(argv, 1, "")
        return ""

    def sysctl(self, name: str) -> str:
        assert name == "kern.bootfile"
        return "/nonexistent/boot/kernel/kernel"


def test_prerequisites_name_each_missing_module_with_how_to_load_it(tmp_path: Path) -> None:
    test = SelfTest("sim", "zroot", tmp=tmp_path)
    host = _HostWithoutModules()
    test.host, test.real = host, True  # type: ignore[assignment]
    with pytest.raises(StepFailed) as failed:
        test.prerequisites()
    detail = failed.value.detail
    assert "kernel module vmm is not loaded (fix: kldload vmm or sysrc kld_list+=vmm)" in detail
    assert "kernel module nmdm is not loaded (fix: kldload nmdm or sysrc kld_list+=nmdm)" in detail
    assert "if_bridge" not in detail and "if_tuntap" not in detail
    assert "/nonexistent/boot/kernel/kernel is missing (the guest is built from it)" in detail
    assert [a for a in host.ran if a[0] == "kldstat"] == [
        ("kldstat", "-q", "-m", m) for m in ("vmm", "nmdm", "if_bridge", "if_tuntap")]
