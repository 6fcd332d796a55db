"""The VM side of the sim: bhyvectl(8) over /dev/vmm, and the stand-in guest spawned in place
of bhyve (hvd_netconf.host.sim.standin), which bhyvectl signals as bhyve would exit."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hvd_netconf.host.sim.commands import Fail, State, log, unknown
from hvd_netconf.host.sim.console import CONSOLE_FDS
from hvd_netconf.host.sim.standin import REFUSAL_ENV

_UNITS = {"": 1 << 20, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def bhyve_refusal(argv: Sequence[str], physmem: int | None,
                  devices: frozenset[str] = frozenset()) -> str | None:
    """What bhyve prints before it exits 4 on this host, or None: guest memory it cannot set
    up, or a backing file that is not there (docs/freebsd-facts.md §1, §12). devices: the
    sim's own device nodes besides its zvols (the da(4) of attached iSCSI LUNs)."""
    args = list(argv)
    if os.path.basename(args[0]) != "bhyve":
        return None
    for flag, value in itertools.pairwise(args):
        if flag == "-m":
            m = re.fullmatch(r"([0-9]+)([KMGT]?)", value.upper())
            if m and physmem and int(m.group(1)) * _UNITS[m.group(2)] > physmem:
                return "Unable to setup memory (12)"
        if flag == "-s":
            parts = value.split(",")
            # a disk's device outside /dev/zvol (the sim's own zvols): a host path it needs
            missing = len(parts) > 2 and not os.path.exists(parts[2]) and (
                parts[2] not in devices) and (
                parts[1] == "ahci-cd" or (parts[1] in ("virtio-blk", "nvme", "ahci-hd")
                and not parts[2].startswith("/dev/zvol/")))
            if missing:
                return f"bhyve: Could not open backing file: {parts[2]}: No such file or directory"
    return None


def _has_com1(argv: tuple[str, ...]) -> bool:
    """bhyve given a COM1 backend (`-l com1,<dev>`, bhyve(8)); the loaders get none here."""
    return os.path.basename(argv[0]) == "bhyve" and any(
        a.startswith("com1,") for prev, a in itertools.pairwise(argv) if prev == "-l")


class Vmm:
    """/dev/vmm and the guests (a part of SimHost, which provides the flock and the log)."""

    _st: State
    _replaying: bool

    if TYPE_CHECKING:  # provided by PersistedState and Console
        def _locked(self) -> contextlib.AbstractContextManager[None]: ...

        def open_console(self, vm: str) -> tuple[int, int]: ...

        def close_console(self, vm: str) -> None: ...
        def _refresh(self) -> None: ...
        def _log(self, entry: dict[str, Any]) -> None: ...
        def _ps_usage(self, st: State, pids: str, out: list[str],
                      argv: tuple[str, ...]) -> None: ...

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        """Start the stand-in guest instead of bhyve; the VM instance appears in /dev/vmm."""
        argv = tuple(argv)
        vm = argv[-1]
        with self._locked():
            self._refresh()
            physmem = self._st["sysctl"].get("hw.physmem")  # none in a state from before it
            refusal = bhyve_refusal(argv, int(physmem) if physmem else None, frozenset(
                f"/dev/{d}" for s in self._st.get("iscsi", {}).get("sessions", ())
                for d in s["luns"].values()))
            fds = self.open_console(vm) if _has_com1(argv) and refusal is None else ()
            env = {**os.environ, **({REFUSAL_ENV: refusal} if refusal else {}),
                   **({CONSOLE_FDS: ",".join(map(str, fds))} if fds else {})}
            try:
                with open(log_path, "ab") as err:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "hvd_netconf.host.sim.standin", *argv],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                        start_new_session=True, pass_fds=fds, env=env,
                    )
            finally:
                for fd in fds:  # the stand-in holds the pair now
                    os.close(fd)
            if refusal is None:  # a refused bhyve exits before hvd could see its instance
                self._st["vmm"][vm] = {"pid": proc.pid}
                self._log({"spawn": vm, "pid": proc.pid})
        log.info("sim: started stand-in guest for %s (pid %d); no real VM runs", vm, proc.pid)
        return proc

    def vmm_instances(self) -> set[str]:
        with self._locked():
            self._refresh()
            return set(self._st["vmm"])

    def process_matches(self, pid: int, vm: str) -> bool:
        """A live stand-in (not a zombie: its cmdline is then empty) whose argv names vm."""
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        try:
            i = args.index("hvd_netconf.host.sim.standin")
        except ValueError:
            return False
        rest = args[i + 1:]
        return len(rest) >= 2 and os.path.basename(rest[0]) == "bhyve" and rest[-1] == vm

    def _command(self, pid: int) -> str | None:
        """What ps shows for a live stand-in: bhyve's title `bhyve: <vm>`, a loader's argv."""
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if "hvd_netconf.host.sim.standin" not in args:
            return None
        rest = args[args.index("hvd_netconf.host.sim.standin") + 1:]
        if len(rest) < 2:
            return None
        if os.path.basename(rest[0]) == "bhyve":
            return f"bhyve: {rest[-1]}"
        return " ".join(rest)

    def _ps(self, st: State, args: tuple[str, ...], out: list[str],
            argv: tuple[str, ...]) -> None:
        """`ps -ax -ww -o pid=,command=` over the guests this host spawned (whoever spawned
        them: another bhyve's VM is one too); the rest of Linux is not the simulated host."""
        if len(args) == 4 and args[:3] == ("-o", "pid=,time=,rss=,pcpu=", "-p"):
            self._ps_usage(st, args[3], out, argv)
            return
        if len(args) == 5 and args[:4] == ("-ww", "-o", "command=", "-p"):
            self._ps_dnsmasq(int(args[4]), out)
            return
        if args != ("-ax", "-ww", "-o", "pid=,command="):
            unknown(argv)
        pids = sorted({e["pid"] for e in st["vmm"].values() if e.get("pid")})
        for pid in pids:
            command = self._command(pid)
            if command is not None:
                out.append(f"{pid:5d} {command}\n")

    @staticmethod
    def _ps_dnsmasq(pid: int, out: list[str]) -> None:
        """`ps -ww -o command= -p PID` of a live stand-in dnsmasq: dnsmasq's command line; of
        any other process ps's exit 1 (it is not the simulated host's)."""
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            raw = b""
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if "hvd_netconf.host.sim.dnsmasq" not in args:
            raise Fail("", 1)
        out.append(" ".join(["dnsmasq", *args[args.index("hvd_netconf.host.sim.dnsmasq") + 1:]])
                   + "\n")

    def _bhyvectl(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        vm = next((a.partition("=")[2] for a in args if a.startswith("--vm=")), "")
        actions = [a for a in args if not a.startswith("--vm=")]
        if not vm or len(actions) != 1:
            unknown(argv)
        action = actions[0]
        if action == "--create":
            if vm in st["vmm"]:
                raise Fail("vm_create: File exists")
            st["vmm"][vm] = {"pid": None}
            return
        if action not in ("--destroy", "--force-poweroff", "--force-reset"):
            unknown(argv)
        if vm not in st["vmm"]:
            raise Fail(f"vm_open: {vm} could not be opened: No such file or directory")
        pid = st["vmm"][vm].get("pid")
        if action == "--destroy":
            del st["vmm"][vm]
            if not self._replaying:
                self.close_console(vm)
            return
        # The stand-in guest maps these to bhyve's exits: SIGUSR1 = powered off (exit 1),
        # SIGUSR2 = reset (exit 0).
        if pid and self.process_matches(pid, vm):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1 if action == "--force-poweroff" else signal.SIGUSR2)
