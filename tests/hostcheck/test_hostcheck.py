"""The host check on a FreeBSD host that lacks things: the commands it runs, the fixes it prints."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.selection import select_backend
from hvd_netconf.hostcheck import check_host, render


class RecordingHost:
    """A FreeBSD host seen only through the commands hvd would run, with canned exits."""

    name = "freebsd"
    simulated = False

    def __init__(self, answers: dict[tuple[str, ...], tuple[int, str]]) -> None:
        self.answers = answers
        self.ran: list[tuple[str, ...]] = []

    def run(self, argv: Sequence[str]) -> str:
        self.ran.append(tuple(argv))
        code, text = self.answers[tuple(argv)]
        if code:
            raise CommandFailed(argv, code, text)
        return text

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        raise AssertionError("the host check starts nothing")

    def vmm_instances(self) -> set[str]:
        return set()

    def process_matches(self, pid: int, vm: str) -> bool:
        return False

    def sysctl(self, name: str) -> str:
        raise AssertionError("the host check reads sysctls through run()")


def test_a_host_missing_nmdm_tap_sysctl_and_dataset() -> None:
    host = RecordingHost({
        ("kldstat", "-q", "-m", "vmm"): (0, ""),
        ("kldstat", "-q", "-m", "nmdm"): (1, ""),
        ("kldstat", "-q", "-m", "if_bridge"): (0, ""),
        ("kldstat", "-q", "-m", "if_tuntap"): (0, ""),
        ("sysctl", "-n", "net.link.tap.up_on_open"): (0, "0\n"),
        ("zfs", "list", "-H", "-o", "name,mountpoint", "zroot/hv"):
            (1, "cannot open 'zroot/hv': dataset does not exist\n"),
        ("sysctl", "-n", "kern.racct.enable"): (0, "0\n"),
        ("pciconf", "-l"): (0, "em0@pci0:0:25:0:\tclass=0x020000\n"),
        ("pgrep", "-x", "iscsid"): (1, ""),
        ("dnsmasq", "--version"): (127, "dnsmasq: not found"),
    })
    findings = check_host(host, zfs_parent="zroot/hv", root="/hv")
    assert [f.what for f in findings if not f.ok] == [
        "kernel module nmdm", "net.link.tap.up_on_open", "ZFS dataset zroot/hv"]
    text = render(findings)
    assert "MISSING kernel module nmdm: not loaded" in text
    assert "fix: kldload nmdm" in text
    assert "fix: sysctl net.link.tap.up_on_open=1" in text
    assert "fix: zfs create -p -o mountpoint=/hv zroot/hv" in text
    assert "cannot open 'zroot/hv': dataset does not exist" in text
    assert "ok   kernel module vmm: loaded" in text
    # racct is reported, with its fix, but it is optional: only VM limits need it
    assert ("ok   racct (kern.racct.enable): not enabled: commits that set VM limits are "
            "refused (optional)") in text
    assert "fix: echo kern.racct.enable=1 >> /boot/loader.conf" in text
    assert "ok   PCI passthrough (pptdevs): no device reserved (optional" in text
    assert ("ok   iscsid (iSCSI disks): not running: VMs with iSCSI disks cannot start "
            "(optional)") in text
    assert "fix: sysrc iscsid_enable=YES" in text
    assert ("ok   dnsmasq (DHCP for networks): not installed: networks with dhcp cannot be "
            "committed (optional)") in text and "fix: pkg install dnsmasq" in text


def test_a_complete_host_passes() -> None:
    host = RecordingHost({
        **{("kldstat", "-q", "-m", m): (0, "") for m in ("vmm", "nmdm", "if_bridge", "if_tuntap")},
        ("sysctl", "-n", "net.link.tap.up_on_open"): (0, "1\n"),
        ("zfs", "list", "-H", "-o", "name,mountpoint", "zroot/hv"): (0, "zroot/hv\t/hv\n"),
        ("sysctl", "-n", "kern.racct.enable"): (0, "1\n"),
        ("pciconf", "-l"): (0, "ppt0@pci0:3:0:0:\tclass=0x020000\n"),
        ("pgrep", "-x", "iscsid"): (0, "812\n"),
        ("dnsmasq", "--version"): (0, "Dnsmasq version 2.90  Copyright (c) 2000-2024\n"),
    })
    findings = check_host(host, zfs_parent="zroot/hv", root="/hv")
    assert all(f.ok for f in findings)
    assert "ok   racct (kern.racct.enable): enabled: VM limits can be enforced" in render(
        findings)
    assert "ok   PCI passthrough (pptdevs): reserved for guests: 3/0/0" in render(findings)
    assert "ok   ZFS dataset zroot/hv: zroot/hv mounted at /hv" in render(findings)
    assert "ok   iscsid (iSCSI disks): running" in render(findings)
    assert "ok   dnsmasq (DHCP for networks): Dnsmasq version 2.90" in render(findings)


def test_the_sim_backend_says_it_is_simulated(tmp_path: Path) -> None:
    findings = check_host(select_backend("sim", tmp_path), zfs_parent="zroot/hv", root="/hv")
    assert len(findings) == 1
    assert "simulates a FreeBSD host" in findings[0].detail


@pytest.mark.parametrize("backend", ["sim", "auto"])
def test_hvd_check_host_command_on_the_sim_writes_nothing(tmp_path: Path, backend: str) -> None:
    """Issue 17.9: a check writes nothing, not even under a fresh root (on Linux, auto is the
    sim, whose state would otherwise be created under the root)."""
    root = tmp_path / "hv"
    res = subprocess.run([sys.executable, "-m", "hvd_netconf.daemon", "--root", str(root),
                          "--backend", backend, "check-host"], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "simulates a FreeBSD host" in res.stdout
    assert list(tmp_path.rglob("*")) == []
