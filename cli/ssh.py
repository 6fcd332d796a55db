"""`--host`: the same client over the SSH `netconf` subsystem (paramiko loads only here).

Keys come from the agent or ~/.ssh; the server's host key must be in known_hosts.
"""

from __future__ import annotations

import getpass
import os

import paramiko
from hv_cli.client import REPLY_TIMEOUT, Client, ConnectError


def connect(host: str, port: int = 830, user: str | None = None,
            reply_timeout: float = REPLY_TIMEOUT) -> Client:
    timeout = min(reply_timeout, 15.0)
    ssh = paramiko.SSHClient()
    ssh.load_system_host_keys()
    known = os.path.expanduser("~/.ssh/known_hosts")
    if os.path.exists(known):
        ssh.load_host_keys(known)
    ssh.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        ssh.connect(host, port, username=user or getpass.getuser(), timeout=timeout,
                    allow_agent=True, look_for_keys=True)
        channel = ssh.get_transport().open_session(timeout=timeout)  # type: ignore[union-attr]
        channel.invoke_subsystem("netconf")
    except paramiko.BadHostKeyException:
        ssh.close()
        raise ConnectError(f"the host key of {host} does not match known_hosts") from None
    except paramiko.SSHException as exc:
        ssh.close()
        raise ConnectError(f"ssh to {host}:{port} failed: {exc}") from None
    except (TimeoutError, OSError) as exc:
        ssh.close()
        raise ConnectError(f"cannot reach {host}:{port}: {exc}") from None
    return Client(channel, on_close=ssh.close, timeout=reply_timeout)
