"""What a FreeBSD host lacks for hvd, each finding with the command that fixes it.

Run by `hvd check-host`, by the rc.d script before start, and logged by the daemon at start.
The checks run through the Host interface, so they never run a shell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hvd_netconf.config import BackendName
from hvd_netconf.host import pci
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.selection import resolve, select_backend

MODULES = ("vmm", "nmdm", "if_bridge", "if_tuntap")


@dataclass(frozen=True)
class Finding:
    what: str
    ok: bool
    detail: str
    fix: tuple[str, ...] = ()


def _succeeds(host: Host, argv: Sequence[str]) -> tuple[bool, str]:
    try:
        return True, host.run(argv).strip()
    except CommandFailed as exc:
        return False, exc.stderr.strip()
    except FileNotFoundError as exc:
        return False, f"{argv[0]}: {exc.strerror}"


def check_modules(host: Host) -> list[Finding]:
    out = []
    for mod in MODULES:
        ok, _ = _succeeds(host, ["kldstat", "-q", "-m", mod])
        out.append(Finding(
            f"kernel module {mod}", ok, "loaded" if ok else "not loaded",
            () if ok else (f"kldload {mod}", f"sysrc kld_list+={mod}"),
        ))
    return out


def check_tap_up_on_open(host: Host) -> Finding:
    ok, value = _succeeds(host, ["sysctl", "-n", "net.link.tap.up_on_open"])
    good = ok and value == "1"
    return Finding(
        "net.link.tap.up_on_open", good,
        f"is {value}" if ok else f"cannot read: {value}",
        () if good else ("sysctl net.link.tap.up_on_open=1",
                         "echo net.link.tap.up_on_open=1 >> /etc/sysctl.conf"),
    )


def check_racct(host: Host) -> Finding:
    """racct is optional: without it hvd runs, and refuses only VM limits (rctl(8);
    docs/freebsd-facts.md §18). So it is reported, never a reason not to start."""
    ok, value = _succeeds(host, ["sysctl", "-n", "kern.racct.enable"])
    on = ok and value == "1"
    return Finding(
        "racct (kern.racct.enable)", True,
        "enabled: VM limits can be enforced" if on else
        "not enabled: commits that set VM limits are refused (optional)",
        () if on else ("echo kern.racct.enable=1 >> /boot/loader.conf", "shutdown -r now"),
    )


def check_passthru(host: Host) -> Finding:
    """The devices reserved for PCI passthrough (docs/freebsd-facts.md §19): optional, so
    reported, never a reason not to start."""
    ok, text = _succeeds(host, list(pci.list_devices()))
    held = sorted(pci.reserved(text)) if ok else []
    return Finding("PCI passthrough (pptdevs)", True,
                   f"reserved for guests: {', '.join(held)}" if held else
                   "no device reserved (optional: pptdevs in /boot/loader.conf)")


def check_iscsid(host: Host) -> Finding:
    """iscsid logs iSCSI sessions in (docs/freebsd-facts.md §21): optional, needed only by VMs
    with iSCSI disks, whose starts fail without it."""
    ok, _ = _succeeds(host, ["pgrep", "-x", "iscsid"])
    return Finding("iscsid (iSCSI disks)", True,
                   "running" if ok else "not running: VMs with iSCSI disks cannot start "
                   "(optional)", () if ok else ("sysrc iscsid_enable=YES", "service iscsid start"))


def check_dnsmasq(host: Host) -> Finding:
    """dnsmasq serves DHCP and DNS for networks with dhcp (docs/freebsd-facts.md §23):
    optional, needed only by them, whose commits fail without it."""
    ok, version = _succeeds(host, ["dnsmasq", "--version"])
    return Finding("dnsmasq (DHCP for networks)", True,
                   version.splitlines()[0] if ok and version else
                   "not installed: networks with dhcp cannot be committed (optional)",
                   () if ok else ("pkg install dnsmasq",))


def check_parent_dataset(host: Host, parent: str, mountpoint: str) -> Finding:
    ok, detail = _succeeds(host, ["zfs", "list", "-H", "-o", "name,mountpoint", parent])
    return Finding(
        f"ZFS dataset {parent}", ok, detail.replace("\t", " mounted at ") if ok else detail,
        () if ok else (f"zfs create -p -o mountpoint={mountpoint} {parent}",),
    )


def _simulated(name: str) -> list[Finding]:
    return [Finding("host", True,
                    f"the {name} backend simulates a FreeBSD host; there is nothing real to check")]


def check_host(host: Host, *, zfs_parent: str, root: str) -> list[Finding]:
    """Every check, in the order an admin would fix them."""
    if host.simulated:
        return _simulated(host.name)
    return [
        *check_modules(host),
        check_tap_up_on_open(host),
        check_parent_dataset(host, zfs_parent, root),
        check_racct(host),
        check_passthru(host),
        check_iscsid(host),
        check_dnsmasq(host),
    ]


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{'ok  ' if f.ok else 'MISSING'} {f.what}: {f.detail}")
        lines.extend(f"        fix: {cmd}" for cmd in f.fix)
    return "\n".join(lines)


def check_backend(name: BackendName, *, zfs_parent: str, root: str) -> list[Finding]:
    """`hvd check-host`: a check writes nothing, so the sim backend, whose state lives under the
    root, is not even opened."""
    if resolve(name) == "sim":
        return _simulated("sim")
    return check_host(select_backend(name, Path(root)), zfs_parent=zfs_parent, root=root)
