"""The real host: runs argv lists with subprocess (never a shell) and checks every exit status."""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from hvd_netconf.host import names, stream
from hvd_netconf.host import sysctl as sysctl_argv
from hvd_netconf.host.backend import CommandFailed, Outcome

log = logging.getLogger("hvd.host.freebsd")

VMM_DIR = Path("/dev/vmm")
COMMAND_TIMEOUT = 300.0
# Commands of one batch running at once (docs/freebsd-facts.md §15): enough to overlap the
# tools' start-up and their waits on the pool, few enough not to crowd the host.
BATCH_WORKERS = 8


def _env() -> dict[str, str]:
    # The C locale keeps tool messages in the manual pages' (and the sim backend's) words.
    return {**os.environ, "LC_ALL": "C"}


class FreeBSDHost:
    name = "freebsd"
    simulated = False

    def __init__(self, vmm_dir: Path = VMM_DIR, timeout: float = COMMAND_TIMEOUT) -> None:
        self.vmm_dir = vmm_dir
        self.timeout = timeout

    def run(self, argv: Sequence[str], stdin: str | None = None) -> str:
        argv = tuple(argv)
        log.debug("run %s", argv)
        try:
            if stdin is None:
                proc = subprocess.run(
                    argv, capture_output=True, text=True, check=False, env=_env(),
                    timeout=self.timeout, stdin=subprocess.DEVNULL,
                )
            else:
                proc = subprocess.run(
                    argv, capture_output=True, text=True, check=False, env=_env(),
                    timeout=self.timeout, input=stdin,
                )
        except FileNotFoundError as e:
            raise CommandFailed(argv, 127, f"{argv[0]}: {e.strerror}") from e
        except subprocess.TimeoutExpired as e:
            raise CommandFailed(argv, -1, f"timed out after {self.timeout:g} s") from e
        if proc.returncode != 0:
            raise CommandFailed(argv, proc.returncode, proc.stderr)
        return proc.stdout

    def run_batch(self, argvs: Sequence[Sequence[str]], *, keep_going: bool = False
                  ) -> list[Outcome]:
        """At most BATCH_WORKERS of argvs at once, each as run() runs it; after a failure none
        is started unless keep_going (the ones under way finish and report)."""
        out: list[Outcome] = [None] * len(argvs)
        lock = threading.Lock()
        todo = iter(range(len(argvs)))
        failed = False

        def worker() -> None:
            nonlocal failed
            while True:
                with lock:
                    i = None if failed and not keep_going else next(todo, None)
                if i is None:
                    return
                try:
                    out[i] = self.run(argvs[i])
                except Exception as e:  # the command's outcome, handed back
                    out[i] = e
                    with lock:
                        failed = True

        threads = [threading.Thread(target=worker, name="hvd-host-batch", daemon=True)
                   for _ in range(min(BATCH_WORKERS, len(argvs)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return out

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
