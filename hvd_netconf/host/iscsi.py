"""iSCSI disks: the iscsictl(8) and camcontrol(8) argv, the reading of `iscsictl -L`, and
the attach of one LUN at a VM's start (docs/freebsd-facts.md §21).

The builders are pure, with golden tests. attach() is the procedure that runs them: add the
session, poll its state until the LUN has a device, check the serial, and remove the session
again if anything fails, so a failed start leaves no session behind.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hvd_netconf.errors import OperationFailed
from hvd_netconf.host.specs import Disk, IscsiLun

ISCSICTL = "iscsictl"
CAMCONTROL = "camcontrol"
CONNECTED = "Connected"
# states of iscsictl -L that are no failure: the rest is the reason of the last one
QUIET = (CONNECTED, "Disconnected", "Disabled", "Discovery", "")
POLL = 0.25  # seconds between two looks at the session while it logs in


def add(lun: IscsiLun) -> list[str]:
    """iscsictl -A: from the /etc/iscsi.conf section that holds its credentials, or by portal
    and target (iscsictl(8))."""
    if lun.auth_nickname:
        return [ISCSICTL, "-A", "-n", lun.auth_nickname]
    return [ISCSICTL, "-A", "-p", lun.portal, "-t", lun.target]


def remove(portal: str, target: str) -> list[str]:
    return [ISCSICTL, "-R", "-p", portal, "-t", target]


def list_sessions() -> list[str]:
    """Every session with its state and, once connected, each LUN's device (libxo's JSON
    carries the LUN numbers the text leaves out)."""
    return [ISCSICTL, "-L", "--libxo", "json"]


def serial(device: str) -> list[str]:
    """The SCSI serial number of a da(4) device, alone on a line (camcontrol(8) inquiry -S)."""
    return [CAMCONTROL, "inquiry", device, "-S"]


@dataclass(frozen=True)
class Session:
    target: str
    portal: str
    state: str  # Connected, Disconnected, Disabled, or the reason of the last failure
    luns: dict[int, str] = field(default_factory=dict)  # LUN -> its device, e.g. da3

    @property
    def failed(self) -> str | None:
        """The reason iscsid gave, when the session is not merely waiting."""
        return None if self.state in QUIET else self.state


def parse_sessions(text: str) -> list[Session]:
    """`iscsictl -L --libxo json` -> its sessions."""
    data = json.loads(text or "{}")
    out = []
    for s in data.get("iscsictl", {}).get("session", []):
        devices = s.get("devices") or {}
        luns = {int(d["lun"]): str(d["device"]) for d in devices.get("lun", [])
                if "lun" in d and "device" in d}
        out.append(Session(str(s.get("name", "")).strip(), str(s.get("portal", "")).strip(),
                           str(s.get("state", "")).strip(), luns))
    return out


def find(sessions: Sequence[Session], portal: str, target: str) -> Session | None:
    return next((s for s in sessions if (s.portal, s.target) == (portal, target)), None)


Run = Callable[[Sequence[str]], str]


def attach(run: Run, vm: str, disk: str, lun: IscsiLun, *,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> tuple[str, bool]:
    """Attach the LUN: (its device path, whether this call added the session). A session the
    host has already (another disk of the VM on the same target) is used as it is. Raises
    OperationFailed with iscsid's reason, or on a timeout or a wrong serial, after removing a
    session it added."""
    what = f"VM {vm}: disk {disk}: iSCSI target {lun.target} at {lun.portal}"
    added = find(parse_sessions(run(list_sessions())), lun.portal, lun.target) is None
    if added:
        run(add(lun))
    try:
        device = _wait(run, what, lun, sleep, clock)
        if lun.serial is not None:
            got = run(serial(device)).strip()
            if got != lun.serial:
                raise OperationFailed(f"{what}: LUN {lun.lun} ({device}) has serial {got!r}, "
                                      f"not {lun.serial!r}; refusing another disk's blocks")
    except BaseException:
        if added:
            with contextlib.suppress(Exception):  # the first failure is the one to report
                run(remove(lun.portal, lun.target))
        raise
    return f"/dev/{device}", added


def _wait(run: Run, what: str, lun: IscsiLun, sleep: Callable[[float], None],
          clock: Callable[[], float]) -> str:
    deadline = clock() + lun.login_timeout
    while True:
        s = find(parse_sessions(run(list_sessions())), lun.portal, lun.target)
        if s is None:
            raise OperationFailed(f"{what}: the session is gone (removed by someone else?)")
        if s.failed:
            raise OperationFailed(f"{what}: {s.failed}")
        if s.state == CONNECTED and lun.lun in s.luns:
            return s.luns[lun.lun]
        if clock() >= deadline:
            why = (f"connected, but it has no LUN {lun.lun} (it has "
                   f"{', '.join(map(str, sorted(s.luns))) or 'none'})"
                   if s.state == CONNECTED else f"not connected ({s.state or 'logging in'})")
            raise OperationFailed(f"{what}: {why} after {lun.login_timeout} s")
        sleep(POLL)


ABSENT = "absent"  # the host has no session for the disk's target


@dataclass(frozen=True)
class DiskState:
    disk: str
    lun: IscsiLun
    device: str | None  # its da(4), while connected
    session: str  # Connected, absent, or what iscsictl -L shows instead


def disk_states(disks: Sequence[Disk], sessions: Sequence[Session]) -> list[DiskState]:
    """The state of each iSCSI disk among disks, from the host's sessions."""
    out = []
    for d in disks:
        if d.iscsi is None:
            continue
        s = find(sessions, d.iscsi.portal, d.iscsi.target)
        out.append(DiskState(d.name, d.iscsi, None if s is None else s.luns.get(d.iscsi.lun),
                             ABSENT if s is None else s.state or "Disconnected"))
    return out
