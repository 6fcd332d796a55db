"""The VM side of the sim: bhyvectl(8) over /dev/vmm, and the stand-in guest spawned in place
of bhyve (hvd_netconf.host.sim.standin), which bhyvectl signals as bhyve would exit."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from hvd_netconf.host.sim.commands import Fail, State, log, unknown
from hvd_netconf.host.sim.console import CONSOLE_FDS


def _has_com1(argv: tuple[str, ...]) -> bool:
    """bhyve given a COM1 backend (`-l com1,<dev>`, bhyve(8)); the loaders get none here."""
    return os.path.basename(argv[0]) == "bhyve" and any(
        a.startswith("com1,") for prev, a in itertools.pairwise(argv) if prev == "-l")


class Vmm:
    """/dev/vmm and the guests (a part of SimHost, which provides the flock and the log)."""

    _st: State
    _replaying: bool

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        """Start the stand-in guest instead of bhyve; the VM instance appears in /dev/vmm."""
        argv = tuple(argv)
        vm = argv[-1]
        with self._locked():
            self._refresh()
            fds = self.open_console(vm) if _has_com1(argv) else ()
            env = {**os.environ, CONSOLE_FDS: ",".join(map(str, fds))} if fds else None
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
