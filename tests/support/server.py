"""A real hvd server in-process: Unix socket and SSH on 127.0.0.1, port 0, under tmp_path.

Usage in any test directory (fixtures come from tests/conftest.py):

    def test_x(hvd):                       # started with the daemon's full wiring
        with hvd.connect_uds() as m:       # ncclient manager over the Unix socket
            m.lock("running")
        with hvd.raw() as c:               # RawClient over the Unix socket
            c.hello("1.1")
            reply = c.rpc("<get-config><source><running/></source></get-config>")

A test module or directory may override the `hvd_attach` fixture to attach other components.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ncclient.transport.session
import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ncclient import manager

from hvd_netconf.config import Settings
from hvd_netconf.daemon import Running, start
from hvd_netconf.server import Server
from hvd_netconf.users import UserDB
from support.rawclient import RawClient

# ncclient polls with TICK (default 0.1 s): every synchronous RPC would cost ~100 ms.
ncclient.transport.session.TICK = 0.001

USER = "tester"
PASSWORD = "test-secret"

_NO_VM = ('<vms xmlns="urn:hvd:vm"><vm><name>hvd-test-barrier</name></vm></vms>')


def on_disk(m: manager.Manager) -> None:
    """Return once the files of m's answered requests are on disk, as any client can tell:
    hvd writes them right after a reply, before it reads the session's next request."""
    m.get_config("running", filter=("subtree", _NO_VM))

Attach = Callable[[Server], None]


def make_key(path: Path) -> str:
    """Write an ed25519 private key (OpenSSH format, 0600) and return its public key line."""
    key = Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.OpenSSH,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                        serialization.PublicFormat.OpenSSH)
    return pub.decode() + " tester@hvd-tests"


@dataclass
class HvdAddress:
    """Where an hvd listens and how the test user logs in: all a client needs, in this
    process or another (tools/bench/child.py)."""

    socket_path: Path
    ssh_host: str
    ssh_port: int
    username: str = USER
    password: str = PASSWORD
    key_path: Path | None = None
    _managers: list[Any] = field(default_factory=list, repr=False)

    def connect_uds(self, **kw: Any) -> manager.Manager:
        m = manager.connect_uds(path=str(self.socket_path), **kw)
        self._managers.append(m)
        return m

    def connect_ssh(self, *, username: str | None = None, password: str | None = None,
                    key: bool = False, **kw: Any) -> manager.Manager:
        """Password auth by default; `key=True` uses the test user's ed25519 key instead."""
        args: dict[str, Any] = dict(host=self.ssh_host, port=self.ssh_port,
                                    username=username or self.username,
                                    hostkey_verify=False, look_for_keys=False,
                                    allow_agent=False, timeout=10)
        if key:
            args["key_filename"] = str(self.key_path)
        else:
            args["password"] = self.password if password is None else password
        args.update(kw)
        m = manager.connect(**args)
        self._managers.append(m)
        return m

    def raw(self, timeout: float = 5.0) -> RawClient:
        """A RawClient on the Unix socket (the server hello is not read yet)."""
        return RawClient.unix(str(self.socket_path), timeout)

    def raw_ssh(self, timeout: float = 5.0) -> RawClient:
        """A RawClient on a `netconf` SSH subsystem channel, password-authenticated."""
        sock = socket.create_connection((self.ssh_host, self.ssh_port), timeout=timeout)
        t = paramiko.Transport(sock)
        t.connect(username=self.username, password=self.password)
        chan = t.open_session(timeout=timeout)
        chan.invoke_subsystem("netconf")
        client = RawClient(chan, timeout)
        orig_close = client.close

        def close() -> None:
            orig_close()
            t.close()

        client.close = close  # type: ignore[method-assign]
        return client

    def close_managers(self) -> None:
        for m in self._managers:
            try:
                if m.connected:
                    m.close_session()
            except Exception:
                pass


@dataclass(kw_only=True)
class HvdInstance(HvdAddress):
    """An hvd started in this process (start_hvd)."""

    running: Running
    root: Path

    @property
    def server(self) -> Server:
        return self.running.server

    def stop(self) -> None:
        self.close_managers()
        self.running.stop()


def start_hvd(tmp_path: Path, attach: Attach | None = None, *, ssh: bool = True,
              **overrides: Any) -> HvdInstance:
    """Start hvd under tmp_path/root with a test user (password and key) and return it."""
    root = tmp_path / "root"
    root.mkdir(parents=True, exist_ok=True)
    key_path = tmp_path / "id_ed25519"
    pub = make_key(key_path)
    UserDB.for_root(root).add(USER, password=PASSWORD, keys=[pub], groups=["admin"])
    sock = tmp_path / "hvd.sock"
    # The test user's hvd group `admin` is the NACM admin group, so it may write.
    settings = Settings(root=root, socket=sock, backend="sim", nacm_admin_group="admin",
                        listen=(("127.0.0.1", 0),) if ssh else ())
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    if attach is None:
        from hvd_netconf.daemon import wire_components

        attach = wire_components
    running = start(settings, attach)
    host, port = running.ssh_addresses[0] if running.ssh_addresses else ("", 0)
    return HvdInstance(settings.socket or sock, host, port, key_path=key_path, running=running,
                       root=root)
