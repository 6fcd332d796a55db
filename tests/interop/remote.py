"""hvd as a remote host: a child process on the sim backend with SSH on a loopback port, a
NETCONF user made by `hvd user add`, and a client home (key, known_hosts) for outside tools.

The tools under test (ansible-playbook, netconf-console2, yangcli) see only what a remote
operator would: an SSH address, a user name, a key or password and a pinned host key. The tests
check what they did through a second, independent path: the Unix socket and the files in ROOT.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.helpers import kill_standins, wait_for
from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele
from support.server import make_key

from hvd_netconf.namespaces import HVD
from hvd_netconf.transport.ssh import load_host_key

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
USER = "ops"
PASSWORD = "interop-secret"


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ClientHome:
    """$HOME of the remote operator: ~/.ssh/id_ed25519 and a known_hosts pinning each hvd."""

    path: Path

    @classmethod
    def create(cls, path: Path) -> ClientHome:
        ssh = path / ".ssh"
        ssh.mkdir(parents=True, mode=0o700)
        (ssh / "id_ed25519.pub").write_text(make_key(ssh / "id_ed25519") + "\n")
        (ssh / "known_hosts").touch(mode=0o600)
        return cls(path)

    @property
    def key(self) -> Path:
        return self.path / ".ssh" / "id_ed25519"

    @property
    def public_key(self) -> Path:
        return self.path / ".ssh" / "id_ed25519.pub"

    def trust(self, port: int, root: Path) -> None:
        """Pin hvd's host key for [127.0.0.1]:port, as `ssh-keyscan` after checking would."""
        key = load_host_key(root / ".hvd")
        with open(self.path / ".ssh" / "known_hosts", "a") as f:
            f.write(f"[127.0.0.1]:{port} {key.get_name()} {key.get_base64()}\n")

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment for a client tool: this HOME, the venv's tools first."""
        env = {"HOME": str(self.path), "PATH": f"{VENV_BIN}:/usr/bin:/bin",
               "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        env.update(extra)
        return env


@dataclass
class RemoteHvd:
    """One hvd child process; `port` is its SSH port on 127.0.0.1."""

    root: Path
    sock: Path
    log: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)  # more daemon options (--config)
    _managers: list[manager.Manager] = field(default_factory=list, repr=False)

    def add_user(self, home: ClientHome) -> None:
        """`hvd user add ops --password-stdin --authorized-key FILE --group wheel`: wheel is
        the NACM admin group while no /nacm is configured, so the user may write."""
        subprocess.run(
            [sys.executable, "-m", "hvd_netconf.daemon", "user", "--root", str(self.root),
             "add", USER, "--password-stdin", "--authorized-key", str(home.public_key),
             "--group", "wheel"],
            input=PASSWORD + "\n", text=True, cwd=REPO, check=True, capture_output=True,
            timeout=60)

    def launch(self) -> None:
        self.port = free_port()
        self.sock.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hvd_netconf.daemon", "--root", str(self.root),
                 "--socket", str(self.sock), "--listen", f"127.0.0.1:{self.port}",
                 "--backend", "sim", "--log-level", "info", *self.extra_args],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def wait_listening(self, timeout: float = 30.0) -> bool:
        """True once both listeners are up; False if hvd exited because its port was taken
        in the meantime (the caller launches again on another port)."""
        proc = self.proc
        assert proc is not None
        marker = f"127.0.0.1:{self.port}"

        def up() -> bool:
            if proc.poll() is not None:
                return True
            return self.log.exists() and marker in self.log.read_text()

        wait_for(up, timeout, f"hvd on {self.root} to listen")
        if proc.poll() is None:
            return True
        text = self.log.read_text()
        if "Address already in use" in text:
            return False
        raise AssertionError(f"hvd exited with {proc.returncode}: {text[-2000:]}")

    def uds(self) -> manager.Manager:
        """The server's side of the story: a session on the Unix socket (not the SSH path the
        tools under test use)."""
        m = manager.connect_uds(path=str(self.sock), timeout=30)
        self._managers.append(m)
        return m

    def rpc(self, xml: str) -> etree._Element:
        return etree.fromstring(self.uds().dispatch(to_ele(xml)).xml.encode())

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """get-commit-history, newest first: id, user, transport, source and the changes as
        (kind, name, operation)."""
        reply = self.rpc(f'<get-commit-history xmlns="{HVD}"><limit>{limit}</limit>'
                         "</get-commit-history>")
        ns = {"s": HVD}
        out = []
        for c in reply.iterfind(".//s:commit", ns):
            out.append({k: c.findtext(f"s:{k}", namespaces=ns)
                        for k in ("id", "user", "transport", "source")}
                       | {"changes": sorted((ch.findtext("s:kind", namespaces=ns),
                                             ch.findtext("s:name", namespaces=ns),
                                             ch.findtext("s:operation", namespaces=ns))
                                            for ch in c.iterfind("s:changes", ns))})
        return out

    def stop(self) -> None:
        """SIGTERM (hvd stops its VMs), SIGKILL after 20 s; no stand-in guest survives."""
        for m in self._managers:
            with contextlib.suppress(Exception):
                if m.connected:
                    m.close_session()
        self._managers.clear()
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            kill_standins(self.root)


def make_fleet(base: Path, count: int) -> list[RemoteHvd]:
    out = []
    for i in range(1, count + 1):
        root = base / f"hv{i}"
        root.mkdir(parents=True)
        out.append(RemoteHvd(root, base / f"hv{i}.sock", base / f"hv{i}.log"))
    return out


def launch_all(fleet: list[RemoteHvd], home: ClientHome, attempts: int = 3) -> None:
    """Start every hvd before waiting for any, so their start-ups overlap; a port taken
    between our pick and hvd's bind means another launch on another port."""
    for hvd in fleet:
        hvd.add_user(home)
        hvd.launch()
    for hvd in fleet:
        for _ in range(attempts):
            if hvd.wait_listening():
                break
            time.sleep(0.1)
            hvd.launch()
        else:
            raise AssertionError(f"no free port for {hvd.root} after {attempts} attempts")
        home.trust(hvd.port, hvd.root)


def run_tool(argv: list[str], home: ClientHome, *, timeout: float = 300,
             input: str | None = None, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a client tool as the operator (in their home unless `cwd`); stdout and stderr are
    returned for the assertion messages."""
    p = subprocess.run(argv, cwd=cwd or home.path, env=env or home.env(), capture_output=True,
                       text=True, timeout=timeout, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL, check=False)
    return p
