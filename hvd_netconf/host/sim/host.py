"""A simulated FreeBSD host for Linux: interprets the very argv lists the freebsd backend runs.

It refuses what FreeBSD refuses, with FreeBSD-like stderr and exit status, and fails loudly on
any command it does not know: a simulation that pretends would hide bugs. Each host part it
simulates is its own module beside this one; SimHost puts them together behind the Host
interface.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.commands import Fail, State, log, reads_only, unknown
from hvd_netconf.host.sim.console import Console
from hvd_netconf.host.sim.faults import Faults
from hvd_netconf.host.sim.ifconfig import Ifconfig
from hvd_netconf.host.sim.state import PersistedState
from hvd_netconf.host.sim.sysctl import DEFAULT_SYSCTLS, Sysctl
from hvd_netconf.host.sim.vmm import Vmm
from hvd_netconf.host.sim.zfs import Zfs
from hvd_netconf.host.sim.zfs_replication import ZfsReplication

DEFAULT_PHYSICAL = ("em0", "em1")
DEFAULT_POOLS = ("zroot",)
# What each simulated pool can hold: thick (non-sparse) volumes reserve their size in it.
DEFAULT_POOL_SIZE = 64 << 40


class SimHost(PersistedState, Faults, Zfs, ZfsReplication, Ifconfig, Console, Vmm, Sysctl):
    """The simulated host: each command runs under the flock on the in-memory state, caught
    up with the files first, and is logged when it can change that state."""

    name = "sim"
    simulated = True

    def __init__(
        self,
        root: Path,
        *,
        physical: Sequence[str] = DEFAULT_PHYSICAL,
        pools: Sequence[str] = DEFAULT_POOLS,
        sysctls: dict[str, str] | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
    ) -> None:
        self.dir = Path(root) / ".sim"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "host.json"
        self.log_path = self.dir / "host.log"
        self.faults_path = self.dir / "faults.json"
        self.zvol_dir = self.dir / "zvol"
        self._lock_path = self.dir / "lock"
        self._st: State = {}
        self._seq = 0  # logged commands the in-memory state holds
        self._snapshot: tuple[int, int, int] | None = None  # (inode, mtime, size) it came from
        self._offset = 0  # bytes of the log replayed
        self._log_size = 0  # bytes in the log when last looked at (more: a torn last line)
        self._replaying = False
        self._kids: dict[str, set[str]] = {}  # dataset -> its children, derived from _st
        with self._locked():
            if not self.state_path.exists():
                self._st = {
                    "datasets": {p: {"type": "filesystem", "props": {}} for p in pools},
                    "pool-size": {p: pool_size for p in pools},
                    "interfaces": {
                        n: {"kind": "physical", "mtu": 1500, "fib": 0, "descr": None,
                            "groups": [], "up": True, "members": [], "vlandev": None,
                            "vlan": None}
                        for n in (*physical, "lo0")
                    },
                    "sysctl": {**DEFAULT_SYSCTLS, **(sysctls or {})},
                    "vmm": {},
                }
                for pool in pools:
                    self._adopt(pool)
                self._compact()
            self._refresh()

    def firmware_dir(self) -> Path:
        """Where the simulated bhyve-firmware package keeps its UEFI images: placeholder files
        that say what they are, so a UEFI guest's start sequence runs on Linux."""
        fw = self.dir / "uefi-firmware"
        fw.mkdir(exist_ok=True)
        for name in ("BHYVE_UEFI.fd", "BHYVE_UEFI_CODE.fd", "BHYVE_UEFI_VARS.fd"):
            path = fw / name
            if not path.exists():
                path.write_text(f"simulated {name}: a placeholder, not firmware\n")
        return fw

    def run(self, argv: Sequence[str]) -> str:
        argv = tuple(argv)
        with self._locked():
            fault = self._take_fault(argv)
            if fault is not None:
                log.info("sim: injected fault for %s", argv)
                if fault.get("spawn_error"):
                    raise OSError(fault["code"], fault["stderr"])
                raise CommandFailed(argv, fault["code"], fault["stderr"])
            self._refresh()
            out: list[str] = []
            try:
                self._dispatch(self._st, argv, out)
            except Fail as e:
                # Commands are applied step by step, like ifconfig's parameter list: what ran
                # before the failing part stays done, as on FreeBSD.
                if not reads_only(argv):
                    self._log({"run": list(argv)})
                raise CommandFailed(argv, e.code, e.stderr) from None
            except BaseException:
                self._snapshot = None  # a half-done change in memory: reread it all next time
                raise
            if not reads_only(argv):
                self._log({"run": list(argv)})
            return "".join(out)

    def _dispatch(self, st: State, argv: tuple[str, ...], out: list[str]) -> None:
        prog = os.path.basename(argv[0]) if argv else ""
        handler = {
            "zfs": self._zfs, "ifconfig": self._ifconfig, "sysctl": self._sysctl,
            "bhyvectl": self._bhyvectl, "ps": self._ps, "ssh": self._ssh,
        }.get(prog)
        if handler is None:
            unknown(argv)
        handler(st, argv[1:], out, argv)
