"""`--host`: the same client over the SSH `netconf` subsystem (paramiko loads only here).

As ssh(1) does it: keys from the agent or ~/.ssh, then a password asked on the terminal; the
server's host key checked against ~/.ssh/known_hosts (the `[host]:port` form for a port
other than 22). An unknown key is shown by its SHA256 fingerprint and, on a terminal, added
once the operator says yes (StrictHostKeyChecking=ask); without a terminal it is refused. A
key that differs from the known one is always refused.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import sys
from collections.abc import Callable

import paramiko
from hv_cli.client import REPLY_TIMEOUT, Client, ConnectError

KNOWN_HOSTS = "~/.ssh/known_hosts"
Ask = Callable[[str], bool | None]


def fingerprint(key: paramiko.PKey) -> str:
    """The form ssh(1) prints: SHA256 of the key blob, base64 without padding."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def host_entry(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class _AskPolicy(paramiko.MissingHostKeyPolicy):
    """An unknown host key: ask on the terminal, remember it in known_hosts on yes."""

    def __init__(self, known: str, ask: Ask) -> None:
        self.known, self.ask = known, ask

    def missing_host_key(self, client: paramiko.SSHClient, entry: str,
                         key: paramiko.PKey) -> None:
        """entry: as paramiko names the host in known_hosts, `[host]:port` off port 22."""
        what = (f"the authenticity of host '{entry}' can't be established; "
                f"its {key.get_name()} key fingerprint is {fingerprint(key)}")
        answer = self.ask(f"hv: {what}.\nAdd it to {self.known} and connect?")
        if answer is None:
            raise ConnectError(f"{what}; refusing without a terminal to ask on. Check the "
                               f"fingerprint with the host's administrator, then run hv on a "
                               f"terminal once, or add the key to {self.known}")
        if not answer:
            raise ConnectError(f"host key of {entry} not accepted")
        os.makedirs(os.path.dirname(self.known), mode=0o700, exist_ok=True)
        with open(self.known, "a") as f:
            f.write(f"{entry} {key.get_name()} {key.get_base64()}\n")
        sys.stderr.write(f"hv: added {entry} to {self.known}\n")


def _open(host: str, port: int, user: str, timeout: float, ask: Ask,
          password: str | None) -> paramiko.SSHClient:
    ssh = paramiko.SSHClient()
    ssh.load_system_host_keys()
    known = os.path.expanduser(KNOWN_HOSTS)
    if os.path.exists(known):
        ssh.load_host_keys(known)
    ssh.set_missing_host_key_policy(_AskPolicy(known, ask))
    try:
        ssh.connect(host, port, username=user, password=password, timeout=timeout,
                    allow_agent=True, look_for_keys=True, auth_timeout=timeout,
                    banner_timeout=timeout)
    except BaseException:
        ssh.close()
        raise
    return ssh


def _ask_password(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except EOFError:
        return None


def _refused_login(exc: paramiko.SSHException) -> bool:
    """No key or password accepted; paramiko says so with a plain SSHException when the
    client had nothing to offer at all."""
    return isinstance(exc, paramiko.AuthenticationException) or \
        str(exc) == "No authentication methods available"


def connect(host: str, port: int = 830, user: str | None = None,
            reply_timeout: float = REPLY_TIMEOUT, *, ask: Ask,
            ask_password: Callable[[str], str | None] = _ask_password) -> Client:
    """A client on HOST:PORT's netconf subsystem; ConnectError in the operator's words.
    ask: a yes/no question on the operator's terminal (None: no terminal)."""
    timeout = min(reply_timeout, 15.0)
    user = user or getpass.getuser()
    password: str | None = None
    while True:
        try:
            ssh = _open(host, port, user, timeout, ask, password)
            break
        except paramiko.BadHostKeyException:
            raise ConnectError(
                f"the host key of {host_entry(host, port)} does not match the one in "
                f"{KNOWN_HOSTS}: someone may be intercepting the connection, or the host "
                "key was changed. If the change is known, remove the old line "
                f"(ssh-keygen -R '{host_entry(host, port)}') and connect again") from None
        except paramiko.SSHException as exc:
            if not _refused_login(exc):
                raise ConnectError(f"ssh to {host}:{port} failed: {exc}") from None
            if password is None:
                password = ask_password(f"{user}@{host}:{port}'s password: ")
                if password:
                    continue
            raise ConnectError(f"login as {user} to {host}:{port} failed (no key or password "
                               "accepted); check --user and the user's keys in "
                               "'hvd user list'") from None
        except (TimeoutError, OSError) as exc:
            raise ConnectError(f"cannot reach {host}:{port}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        channel = ssh.get_transport().open_session(timeout=timeout)  # type: ignore[union-attr]
        channel.invoke_subsystem("netconf")
    except (paramiko.SSHException, OSError) as exc:
        ssh.close()
        raise ConnectError(f"{host}:{port} offers no netconf subsystem: {exc}") from None
    return Client(channel, on_close=ssh.close, timeout=reply_timeout)
