"""The networks' DHCP servers: one dnsmasq per network with dhcp, started and kept running by
hvd (docs/freebsd-facts.md §23).

`apply(network, conf)` makes a network's server what the plan says, synchronously: a new
configuration, static leases included (host/dnsmasq.py), is checked (`dnsmasq --test`),
written, and the server restarted; the leases it gave stay in its lease file. None stops it
and removes its files. A server that exits at start fails the
apply with its own last words. One that dies later is restarted, at most RESTARTS times in
WINDOW seconds. When hvd stops, the servers stop; at start they are started from running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from hvd_netconf.errors import OperationFailed
from hvd_netconf.host import dnsmasq
from hvd_netconf.host.backend import CommandFailed, Host

log = logging.getLogger("hvd.dhcp")

SETTLE = 0.5  # seconds a new server must live to count as started
RESTARTS, WINDOW = 5, 60.0


@dataclass
class _Server:
    network: str
    files: dnsmasq.Files
    proc: subprocess.Popen[bytes] | None = None
    stopping: bool = False
    failed: str | None = None
    restarts: list[float] = field(default_factory=list)


class DhcpServers:
    def __init__(self, host: Host, state_dir: str | Path) -> None:
        self.host = host
        self.state_dir = Path(state_dir)
        self._lock = threading.RLock()
        self._servers: dict[str, _Server] = {}
        self._closing = False

    def files(self, network: str) -> dnsmasq.Files:
        return dnsmasq.Files.of(self.state_dir, network)

    # -- what the plan asks ----------------------------------------------------------------

    def apply(self, network: str, conf: str | None) -> None:
        with self._lock:
            srv = self._servers.get(network) or _Server(network, self.files(network))
            self._servers[network] = srv
            if conf is None:
                self._stop(srv)
                self._stop_left(srv.files)
                for path in (srv.files.conf, srv.files.leases, _log(srv.files), srv.files.pid):
                    Path(path).unlink(missing_ok=True)
                del self._servers[network]
                return
            Path(srv.files.conf).parent.mkdir(parents=True, exist_ok=True)
            running = srv.proc is not None and srv.proc.poll() is None
            if running and _read(srv.files.conf) == conf:
                return
            kept = {str(p): Path(p).read_text()
                    for p in (srv.files.conf, _log(srv.files)) if Path(p).exists()}
            _write(srv.files.conf, conf)
            try:
                try:
                    self.host.run(dnsmasq.test_argv(srv.files))
                except CommandFailed as e:
                    raise OperationFailed(f"network {network}: dnsmasq refused its "
                                          f"configuration: {e.stderr.strip()}") from e
                self._stop(srv)
                self._stop_left(srv.files)
                srv.failed, srv.restarts = None, []
                self._start(srv, check=True)
            except BaseException:
                # nothing of this apply stays: the files as they were (the step is not done,
                # so no undo will come for it); a server that ran before runs again on them
                for path in (srv.files.conf, str(_log(srv.files))):
                    if path in kept:
                        _write(path, kept[path])
                    else:
                        Path(path).unlink(missing_ok=True)
                if running and srv.proc is None and srv.files.conf in kept:
                    with contextlib.suppress(OperationFailed, OSError):
                        self._start(srv, check=False)
                if not kept:
                    self._servers.pop(network, None)
                raise

    def _start(self, srv: _Server, *, check: bool) -> None:
        log_path = _log(srv.files)
        proc = self.host.spawn(dnsmasq.argv(srv.files), log_path=log_path)
        srv.proc, srv.stopping = proc, False
        _write(srv.files.pid, f"{proc.pid}\n")
        if check:
            try:
                code = proc.wait(SETTLE)
            except subprocess.TimeoutExpired:
                code = None
            if code is not None:
                srv.proc = None
                Path(srv.files.pid).unlink(missing_ok=True)
                last = _last_line(log_path)
                raise OperationFailed(f"network {srv.network}: dnsmasq exited with status "
                                      f"{code} as it started" + (f": {last}" if last else ""))
        threading.Thread(target=self._watch, args=(srv, proc), daemon=True,
                         name=f"dhcp-{srv.network}").start()

    def _watch(self, srv: _Server, proc: subprocess.Popen[bytes]) -> None:
        code = proc.wait()
        with self._lock:
            if srv.proc is not proc or srv.stopping or self._closing:
                return
            srv.proc = None
            now = time.monotonic()
            srv.restarts = [t for t in srv.restarts if now - t < WINDOW] + [now]
            last = _last_line(_log(srv.files))
            why = f"dnsmasq exited with status {code}" + (f": {last}" if last else "")
            if len(srv.restarts) > RESTARTS:
                srv.failed = f"{why}; not restarted: {RESTARTS} restarts in {WINDOW:g} s"
                log.error("network %s: %s", srv.network, srv.failed)
                return
            log.warning("network %s: %s; restarting it", srv.network, why)
            try:
                self._start(srv, check=False)
            except OSError as e:
                srv.failed = f"{why}; cannot restart it: {e}"

    def _stop_left(self, files: dnsmasq.Files) -> None:
        """A dnsmasq an earlier hvd left running (killed, it could not stop it) holds the
        bridge's ports: end it, once ps shows the recorded pid is still that server."""
        try:
            pid = int(Path(files.pid).read_text().strip())
        except (OSError, ValueError):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self._is_left(pid, files):
                break
            log.warning("stopping the dnsmasq (pid %d) an earlier hvd left running on %s",
                        pid, files.conf)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self._is_left(pid, files):
                time.sleep(0.05)
        Path(files.pid).unlink(missing_ok=True)

    def _is_left(self, pid: int, files: dnsmasq.Files) -> bool:
        try:
            return dnsmasq.is_server(self.host.run(dnsmasq.ps(pid)), files)
        except CommandFailed:
            return False

    def _stop(self, srv: _Server) -> None:
        proc, srv.proc = srv.proc, None
        if proc is None:
            return
        Path(srv.files.pid).unlink(missing_ok=True)
        if proc.poll() is not None:
            return
        srv.stopping = True
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    # -- what the daemon and the state read ------------------------------------------------

    def state(self, network: str) -> str | None:
        with self._lock:
            srv = self._servers.get(network)
            if srv is None:
                return None
            if srv.proc is not None and srv.proc.poll() is None:
                return f"running (pid {srv.proc.pid})"
            return srv.failed or "not running"

    def left(self) -> set[str]:
        """The networks whose server an earlier hvd recorded (a pid file it did not remove)."""
        d = Path(self.files("_").pid).parent
        return {p.stem for p in d.glob("*.pid")} if d.is_dir() else set()

    def pid(self, network: str) -> int | None:
        with self._lock:
            srv = self._servers.get(network)
            return srv.proc.pid if srv and srv.proc and srv.proc.poll() is None else None

    def leases(self, network: str) -> list[dnsmasq.Lease]:
        return dnsmasq.parse_leases(_read(self.files(network).leases))

    def stop_all(self) -> None:
        with self._lock:
            self._closing = True
            for srv in self._servers.values():
                self._stop(srv)


def _log(files: dnsmasq.Files) -> Path:
    """Where the server's stderr goes: its log, beside its configuration."""
    return Path(files.conf).with_suffix(".log")


def _read(path: str | Path) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _last_line(path: Path) -> str | None:
    with contextlib.suppress(OSError):
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
        return lines[-1] if lines else None
    return None
