"""The real host: runs argv lists with subprocess (never a shell) and checks every exit status."""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hvd_netconf.host import names, stream
from hvd_netconf.host import sysctl as sysctl_argv
from hvd_netconf.host.backend import CommandFailed

log = logging.getLogger("hvd.host.freebsd")

VMM_DIR = Path("/dev/vmm")
COMMAND_TIMEOUT = 300.0


def _env() -> dict[str, str]:
    # The C locale keeps tool messages in the manual pages' (and the sim backend's) words.
    return {**os.environ, "LC_ALL": "C"}


class FreeBSDHost:
    name = "freebsd"
    simulated = False

    def __init__(self, vmm_dir: Path = VMM_DIR, timeout: float = COMMAND_TIMEOUT) -> None:
        self.vmm_dir = vmm_dir
        self.timeout = timeout

    def run(self, argv: Sequence[str]) -> str:
        argv = tuple(argv)
        log.debug("run %s", argv)
        try:
            proc = subprocess.run(
                argv, capture_output=True, text=True, check=False, env=_env(),
                timeout=self.timeout, stdin=subprocess.DEVNULL,
            )
        except FileNotFoundError as e:
            raise CommandFailed(argv, 127, f"{argv[0]}: {e.strerror}") from e
        except subprocess.TimeoutExpired as e:
            raise CommandFailed(argv, -1, f"timed out after {self.timeout:g} s") from e
        if proc.returncode != 0:
            raise CommandFailed(argv, proc.returncode, proc.stderr)
        return proc.stdout

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        with open(log_path, "ab") as err:
            return subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                env=_env(), start_new_session=True,
            )

    def pipe(self, producer: stream.Endpoint, consumer: stream.Endpoint, *,
             progress: stream.Progress | None = None, tap: stream.Tap | None = None) -> int:
        """producer | consumer (a zfs send into a zfs receive or a stream file)."""
        log.debug("pipe %s | %s", producer, consumer)
        return stream.run_pipe(producer, consumer, env=_env(), progress=progress, tap=tap)

    def vmm_instances(self) -> set[str]:
        try:
            return set(os.listdir(self.vmm_dir))
        except FileNotFoundError:
            return set()

    def process_matches(self, pid: int, vm: str) -> bool:
        """bhyve sets its process title to `bhyve: <vm>`; match it exactly
        (docs/freebsd-facts.md §7)."""
        try:
            title = self.run(("ps", "-o", "command=", "-p", str(pid)))
        except CommandFailed:
            return False
        return title.strip() == f"bhyve: {vm}"

    def sysctl(self, name: str) -> str:
        return self.run(sysctl_argv.read(name)).strip()

    def console_path(self, vm: str) -> str:
        return names.console_user_side(vm)
