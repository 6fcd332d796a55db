"""A simulated FreeBSD host for Linux: interprets the very argv lists the freebsd backend runs.

It refuses what FreeBSD refuses, with FreeBSD-like stderr and exit status, and fails loudly on
any command it does not know: a simulation that pretends would hide bugs. Each host part it
simulates is its own module beside this one; SimHost puts them together behind the Host
interface.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hvd_netconf.host.backend import CommandFailed, Outcome
from hvd_netconf.host.sim.commands import Fail, State, log, reads_only, unknown
from hvd_netconf.host.sim.console import Console
from hvd_netconf.host.sim.dnsmasq import INTERFACES_ENV
from hvd_netconf.host.sim.dnsmasq import test as dnsmasq_test
from hvd_netconf.host.sim.faults import Faults, take_fault
from hvd_netconf.host.sim.files import Files
from hvd_netconf.host.sim.ifconfig import PHYSICAL_CAPABILITIES, Ifconfig
from hvd_netconf.host.sim.iscsi import Iscsi
from hvd_netconf.host.sim.media import Media
from hvd_netconf.host.sim.pf import MAIN_NAT, Pf
from hvd_netconf.host.sim.state import PersistedState
from hvd_netconf.host.sim.stats import Stats
from hvd_netconf.host.sim.sysctl import DEFAULT_SYSCTLS, Sysctl
from hvd_netconf.host.sim.vmm import Vmm
from hvd_netconf.host.sim.zfs import Zfs
from hvd_netconf.host.sim.zfs_replication import ZfsReplication

DEFAULT_PHYSICAL = ("em0", "em1")
DEFAULT_POOLS = ("zroot",)
# What each simulated pool can hold: thick (non-sparse) volumes reserve their size in it.
DEFAULT_POOL_SIZE = 64 << 40
# Commands of a batch appended to the log in one write.
LOG_EVERY = 256


class SimHost(PersistedState, Faults, Zfs, ZfsReplication, Ifconfig, Pf, Console, Vmm, Sysctl,
              Media, Stats, Iscsi, Files):
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
        capabilities: dict[str, Sequence[str]] | None = None,
        pf_main: Sequence[str] | None = MAIN_NAT,
    ) -> None:
        """capabilities: what `ifconfig -m` lists for a physical interface, where not the
        default PHYSICAL_CAPABILITIES (a driver without JUMBO_MTU, say). pf_main: the main
        pf ruleset's translation rules (None: pf is not loaded)."""
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
        self._input: str | None = None  # the stdin of the command being run
        self._kids: dict[str, set[str]] = {}  # dataset -> its children, derived from _st
        with self._locked():
            if not self.state_path.exists():
                self._st = {
                    "datasets": {p: {"type": "filesystem", "props": {}} for p in pools},
                    "pool-size": {p: pool_size for p in pools},
                    "interfaces": {
                        n: {"kind": "physical", "mtu": 1500, "fib": 0, "descr": None,
                            "groups": [], "up": True, "members": [], "vlandev": None,
                            "vlan": None, "addresses": [],
                            "capabilities": list((capabilities or {}).get(
                                n, PHYSICAL_CAPABILITIES))}
                        for n in (*physical, "lo0")
                    },
                    "sysctl": {**DEFAULT_SYSCTLS, **(sysctls or {})},
                    "vmm": {},
                }
                if pf_main is None or tuple(pf_main) != MAIN_NAT:  # a default is not kept
                    self._st["pf-main"] = None if pf_main is None else list(pf_main)
                for pool in pools:
                    self._adopt(pool)
                self._compact()
            self._refresh()

    def unplug(self, ifname: str) -> None:
        """A test's hardware event: the NIC is gone (the sim's, not a FreeBSD command)."""
        self.run(("hvd-sim-hardware", "unplug", ifname))

    def plug(self, ifname: str) -> None:
        self.run(("hvd-sim-hardware", "plug", ifname))

    def carrier(self, ifname: str, on: bool) -> None:
        self.run(("hvd-sim-hardware", "carrier", ifname, "on" if on else "off"))

    def iscsi_target(self, portal: str, target: str, luns: dict[int, str]) -> None:
        """A test's iSCSI target: LUN -> its serial number, served at portal."""
        self.run(("hvd-sim-hardware", "iscsi-target", portal, target,
                  *(f"{n}={s}" for n, s in sorted(luns.items()))))

    def iscsi_portal(self, portal: str, up: bool) -> None:
        """A test's iSCSI portal going away (its sessions lose their LUNs) or coming back."""
        self.run(("hvd-sim-hardware", "iscsi-up" if up else "iscsi-down", portal))

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        """bhyve and its loaders start the stand-in guest (host/sim/vmm.py); dnsmasq the
        stand-in server (host/sim/dnsmasq.py), told the interfaces the host has now."""
        if os.path.basename(argv[0]) != "dnsmasq":
            return super().spawn(argv, log_path=log_path)
        with self._locked():
            self._refresh()
            interfaces = ",".join(self._st["interfaces"])
        with open(log_path, "ab") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "hvd_netconf.host.sim.dnsmasq", *argv[1:]],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True, env={**os.environ, INTERFACES_ENV: interfaces})

    def _dnsmasq(self, st: State, args: tuple[str, ...], out: list[str],
                 argv: tuple[str, ...]) -> None:
        dnsmasq_test(argv, out)

    def _hardware_event(self, st: State, args: tuple[str, ...], out: list[str],
                        argv: tuple[str, ...]) -> None:
        if args[:1] and args[0].startswith("iscsi-"):
            self._iscsi_event(st, args, argv)
        else:
            self._hardware(st, args, out, argv)

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

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        (outcome,) = self._batch((argv,), False, stdin)
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None  # one command, so it was started
        return outcome

    def run_batch(self, argvs: Sequence[Sequence[str]], *, keep_going: bool = False
                  ) -> list[Outcome]:
        """Every command as run() runs it, in order, in one pass under the flock: the faults
        and the state's files are read once, and the commands that can change the state are
        logged LOG_EVERY at a time (a kill mid-batch leaves a prefix of it done, as a kill
        amid concurrent commands would on FreeBSD). A failing command's outcome is the
        CommandFailed FreeBSD's tool would give, naming its argv and its stderr."""
        return self._batch(argvs, keep_going, None)

    def _batch(self, argvs: Sequence[Sequence[str]], keep_going: bool, stdin: str | None
               ) -> list[Outcome]:
        """run_batch's pass; stdin: the one command's standard input (run() with stdin)."""
        out: list[Outcome] = [None] * len(argvs)
        with self._locked():
            faults = self._faults()
            n_faults = len(faults)
            self._refresh()
            pending: list[dict[str, object]] = []
            try:
                for i, argv in enumerate(map(tuple, argvs)):
                    out[i] = self._one(argv, faults, pending, stdin)
                    if len(pending) >= LOG_EVERY:
                        self._log_many(pending)
                        pending = []
                    if isinstance(out[i], BaseException) and (
                            not keep_going or self._snapshot is None):
                        break
            finally:
                self._log_many(pending)
                if len(faults) != n_faults:
                    self._write(self.faults_path, faults)
        return out

    def _one(self, argv: tuple[str, ...], faults: list[dict[str, Any]],
             pending: list[dict[str, object]], stdin: str | None) -> Outcome:
        entry: dict[str, object] = {"run": list(argv)}
        if stdin is not None:
            entry["stdin"] = stdin
        fault = take_fault(faults, argv)
        if fault is not None and fault.get("delay"):
            log.info("sim: injected delay of %s s for %s", fault["delay"], argv)
            self._log_many(pending)
            pending.clear()
            time.sleep(fault["delay"])
        elif fault is not None:
            log.info("sim: injected fault for %s", argv)
            if fault.get("spawn_error"):
                return OSError(fault["code"], fault["stderr"])
            return CommandFailed(argv, fault["code"], fault["stderr"])
        text: list[str] = []
        self._input = stdin
        try:
            self._dispatch(self._st, argv, text)
        except Fail as e:
            # Commands are applied step by step, like ifconfig's parameter list: what ran
            # before the failing part stays done, as on FreeBSD.
            if not reads_only(argv):
                pending.append(entry)
            return CommandFailed(argv, e.code, e.stderr)
        except Exception as e:  # a bug in the sim: handed back, and the batch stops
            log.exception("sim: %s", argv)
            self._snapshot = None  # a half-done change in memory: reread it all next time
            return e
        except BaseException:
            self._snapshot = None
            raise
        if not reads_only(argv):
            pending.append(entry)
        return "".join(text)

    def _dispatch(self, st: State, argv: tuple[str, ...], out: list[str]) -> None:
        prog = os.path.basename(argv[0]) if argv else ""
        handler = {
            "zfs": self._zfs, "ifconfig": self._ifconfig, "sysctl": self._sysctl,
            "bhyvectl": self._bhyvectl, "ps": self._ps, "pfctl": self._pfctl, "dd": self._dd,
            "qemu-img": self._qemu_img, "rctl": self._rctl, "netstat": self._netstat,
            "zpool": self._zpool, "ssh": self._ssh, "pciconf": self._pciconf,
            "iscsictl": self._iscsictl, "camcontrol": self._camcontrol,
            "truncate": self._truncate, "rm": self._rm, "dnsmasq": self._dnsmasq,
            "hvd-sim-hardware": self._hardware_event,
        }.get(prog)
        if handler is None:
            unknown(argv)
        handler(st, argv[1:], out, argv)

