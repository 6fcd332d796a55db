"""`make run`: hvd on the simulated host in a local folder, with an example network and VM.

Everything is real except the host: the NETCONF server on a Unix socket and on SSH (loopback
only), the datastores under ./run/root, commit and rollback, and the supervisor running
stand-in guests. The example is created through hv, the way a user would create it.
"""

from __future__ import annotations

import argparse
import contextlib
import grp
import os
import secrets
import socket
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

from hv_cli.main import main as hv

from hvd_netconf.config import Settings, from_mapping
from hvd_netconf.daemon import StopSignal, acquire_root_lock, setup_logging, start
from hvd_netconf.restconf.listener import self_signed
from hvd_netconf.store.errors import StoreError
from hvd_netconf.transport.ssh import ensure_ed25519_key
from hvd_netconf.users import UserDB

DEV_USER = "admin"
EXAMPLE = (
    ["create", "network", "lan", "0", "em0"],
    ["create", "vm", "demo", "1", "512"],
    ["add", "disk", "demo", "disk0", "8G"],
    ["add", "nic", "demo", "nic0", "lan"],
)


def _free_port(preferred: int) -> int:
    """The preferred port when it is free on loopback, else any free one."""
    for port in (preferred, 0):
        with socket.socket() as s, contextlib.suppress(OSError):
            s.bind(("127.0.0.1", port))
            bound: int = s.getsockname()[1]
            return bound
    raise OSError("no free port on 127.0.0.1")


def settings_for(run_dir: Path, port: int, config: Path | None = None) -> Settings:
    """The dev instance's settings, then the TOML file's (which win) when one is given.

    The developer running `make run` administers this instance: their own group is the
    NACM admin group here (on a real host it is wheel), and the SSH dev user is put in it."""
    base = replace(
        Settings(),
        root=run_dir / "root",
        socket=run_dir / "hvd.sock",
        pid_file=run_dir / "hvd.pid",
        listen=(("127.0.0.1", port),),
        backend="sim",
        zfs_parent="zroot/hv",
        nacm_admin_group=grp.getgrgid(os.getgid()).gr_name,
    )
    if config is None:
        return base
    with open(config, "rb") as f:
        return from_mapping(tomllib.load(f), base)


def dev_user(run_dir: Path, settings: Settings) -> Path:
    """An SSH key pair in run/ authorised for the dev user, a member of the NACM admin group
    (so the printed SSH login may write and lock); no password is ever stored."""
    key_path = run_dir / "id_ed25519"
    key = ensure_ed25519_key(key_path)
    public = f"{key.get_name()} {key.get_base64()} {DEV_USER}@hvd-dev"
    key_path.with_suffix(".pub").write_text(public + "\n")
    users = UserDB.for_root(settings.root)
    known = users.get(DEV_USER)
    users.add(DEV_USER, keys=[] if known and public in known.authorized_keys else [public],
              groups=[settings.nacm_admin_group])
    return key_path


def banner(run_dir: Path, settings: Settings, key: Path, port: int) -> str:
    sock = settings.socket
    return f"""
hvd is running on the SIMULATED host (backend sim): the NETCONF server, datastores, commits
and VM supervision are real; zfs, ifconfig and bhyve are simulated in {settings.root}/.sim.

  hv (CLI):      export HV_SOCKET={sock}
                 .venv/bin/hv list vm
                 .venv/bin/hv start demo
                 .venv/bin/hv          # interactive shell; try 'configure', '?'
  ncclient:      .venv/bin/python -c "from ncclient import manager; \\
                   m = manager.connect_uds('{sock}'); print(m.get_config('running'))"
  ssh:           ssh -i {key} -p {port} -o StrictHostKeyChecking=no {DEV_USER}@127.0.0.1 -s netconf
  NETCONF/SSH:   127.0.0.1:{port}, user {DEV_USER}, key {key}

Stop with Ctrl-C. The state stays in {run_dir}; `make clean` removes it.
"""


def with_restconf(settings: Settings, run_dir: Path, port: int) -> tuple[Settings, str]:
    """RESTCONF on loopback with a self-signed certificate in run/, and a password for the
    dev user (made once, kept in run/restconf-password, 0600), who joins this instance's
    NACM admin group so the examples may write; returns the how-to lines."""
    cert, key = run_dir / "restconf-cert.pem", run_dir / "restconf-key.pem"
    self_signed(cert, key)
    pw_file = run_dir / "restconf-password"
    if not pw_file.exists():
        password = secrets.token_urlsafe(12)
        UserDB.for_root(settings.root).add(DEV_USER, password=password,
                                           groups=[settings.nacm_admin_group])
        fd = os.open(pw_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(password + "\n")
    password = pw_file.read_text().strip()
    settings = replace(settings, restconf_listen=(("127.0.0.1", port),), restconf_cert=cert,
                       restconf_key=key)
    return settings, (f"\n  RESTCONF:      curl --cacert {cert} -u {DEV_USER}:{password} \\\n"
                      f"                   https://127.0.0.1:{port}/restconf/data/hvd-vm:vms\n"
                      f"  Web interface: https://127.0.0.1:{port}/  (user {DEV_USER}, password "
                      f"{password}; the certificate is self-signed)\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hvd-devrun", description=__doc__)
    parser.add_argument("--dir", default="run", help="folder for the root, socket and key")
    parser.add_argument("--port", type=int, default=8830, help="preferred SSH port (loopback)")
    parser.add_argument("--config", type=Path, help="hvd.conf(5) settings over the dev ones")
    args = parser.parse_args(argv)
    run_dir = Path(args.dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port(args.port)
    try:
        settings = settings_for(run_dir, port, args.config)
    except (OSError, ValueError) as exc:  # tomllib's errors are ValueErrors
        print(f"hvd-devrun: {args.config}: {exc}", file=sys.stderr)
        return 2
    setup_logging("warning", settings.log_path, "info")  # `hv log` reads the file
    lock = acquire_root_lock(settings)
    key = dev_user(run_dir, settings)
    settings, restconf_howto = with_restconf(settings, run_dir, _free_port(8443))
    metrics_port = _free_port(9910)
    settings = replace(settings, metrics_listen=(("127.0.0.1", metrics_port),))
    restconf_howto += f"  Prometheus:    curl http://127.0.0.1:{metrics_port}/metrics\n"
    stop = StopSignal()
    try:
        running = start(settings)
    except (OSError, RuntimeError, ValueError, StoreError) as exc:
        print(f"hvd-devrun: cannot start: {exc}", file=sys.stderr)
        lock.close()
        return 1
    settings.pid_path.write_text(f"{os.getpid()}\n")
    try:
        sock = ["--socket", str(settings.socket)]
        stores = running.server.datastores
        assert stores is not None  # wire_components attached them
        if stores.running.get(("vm", "demo")) is None:
            print("creating the example network and VM with hv:")
            for words in EXAMPLE:
                print("  hv " + " ".join(words))
                if hv([*sock, *words]) != 0:
                    return 1
        hv([*sock, "list", "vm"])
        print(restconf_howto + banner(run_dir, settings, key, port))
        sys.stdout.flush()
        stop.wait()
    finally:
        running.stop()
        settings.pid_path.unlink(missing_ok=True)
        lock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
