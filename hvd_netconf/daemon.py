"""`hvd`: start the server (wiring only) and `hvd user ...` to manage SSH users."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import logging.handlers
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from hvd_netconf import __version__, notify, operational, ops, selftest
from hvd_netconf.apply.engine import ensure_layout
from hvd_netconf.apply.engine import recover as recover_host
from hvd_netconf.apply.hook import journal_path, make_apply_changes
from hvd_netconf.config import Settings, add_arguments, from_args
from hvd_netconf.host.selection import select_backend
from hvd_netconf.hostcheck import check_host, render
from hvd_netconf.nacm import running as nacm_rules
from hvd_netconf.ops import transactions
from hvd_netconf.schema import load_schema
from hvd_netconf.server import Server
from hvd_netconf.store import Datastores, StoreError
from hvd_netconf.supervisor.core import Supervisor
from hvd_netconf.transport.ssh import SshListener, load_host_key
from hvd_netconf.transport.unix import UnixListener
from hvd_netconf.users import UserDB

log = logging.getLogger("hvd")

Attach = Callable[[Server], None]


def wire_components(server: Server) -> None:
    """Compose the application: schema, host backend, datastores, notifications, the VM
    supervisor and the commit-to-host hook. The one place where the parts meet."""
    ops.load_all()
    settings = server.settings
    server.schema = load_schema()
    host = server.host = select_backend(settings.backend, settings.root,
                                        netd_socket=settings.netd_socket)
    ensure_layout(host, settings.zfs_parent, str(settings.root))
    datastores = server.datastores = Datastores(
        str(settings.root), server.schema, history_limit=settings.history_size,
        limits=settings.wire_limits.xml, lock=server.lock)
    nacm_rules.load_stored(server)
    recover_host(host, journal_path(server), datastores.history.last_id)  # a cut-short commit
    bus = notify.attach(server)

    def on_vm_event(name: str, old: str, new: str, reason: str, code: int | None) -> None:
        bus.publish(operational.vm_state_change(name, old, new, reason, code))

    firmware = settings.firmware_dir or (host.firmware_dir() if host.simulated else None)
    # The supervisor reads the live running tree without the server lock: a commit holding
    # the lock may wait for a VM to stop, and that VM's exit handling reads its config.
    server.supervisor = Supervisor(
        host, settings.root, lambda: datastores.running.root,
        zfs_parent=settings.zfs_parent, on_event=on_vm_event,
        firmware_dir=str(firmware) if firmware else None)
    server.apply_changes = make_apply_changes(server)
    transactions.attach(server)
    for vm, outcome in server.supervisor.adopt().items():
        log.info("VM %s at start: %s", vm, outcome)


@dataclass
class Running:
    """A started server and its listeners; `stop()` ends every session and removes the socket."""

    server: Server
    unix: UnixListener | None = None
    ssh: SshListener | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def ssh_addresses(self) -> list[tuple[str, int]]:
        return self.ssh.addresses if self.ssh else []

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        listeners = [x for x in (self.unix, self.ssh) if x is not None]
        for listener in listeners:
            listener.stop()
        for session in self.server.sessions.all():
            session.terminate("other")
        for listener in listeners:
            listener.join_connections(2.0)
        supervisor = self.server.supervisor
        if supervisor is not None:
            if self.server.settings.stop_vms_on_exit:
                supervisor.shutdown_all()
            else:
                supervisor.detach()
        datastores = self.server.datastores
        if datastores is not None:
            with self.server.lock:
                transactions.detach(self.server)
                datastores.close()


def start(settings: Settings, attach: Attach | None = wire_components) -> Running:
    """Build the server, attach components and start listening; used by main() and tests."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    ops.load_all()
    server = Server(settings)
    if attach is not None:
        attach(server)
    running = Running(server)
    try:
        if settings.socket is not None:
            running.unix = UnixListener(server, settings.socket, mode=settings.socket_mode,
                                        group=settings.socket_group)
        if settings.listen:
            running.ssh = SshListener(server, list(settings.listen),
                                      load_host_key(settings.state_dir),
                                      UserDB.for_root(settings.root))
    except BaseException:
        running.stop()
        raise
    for listener in (running.unix, running.ssh):
        if listener is not None:
            listener.start()
    if server.supervisor is not None:
        threading.Thread(target=server.supervisor.autostart, name="autostart",
                         daemon=True).start()
    return running


def acquire_root_lock(settings: Settings) -> IO[str]:
    """One hvd per root: an flock on ROOT/.hvd/hvd.lock that names the holder's pid."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = settings.state_dir / "hvd.lock"
    f = open(path, "a+")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        msg = f"hvd: another hvd (pid {holder}) already serves {settings.root}"
        raise SystemExit(msg) from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


class _SysLog(logging.handlers.SysLogHandler):
    """Syslog is a second copy of what stderr gets; when syslogd is gone, drop the copy
    instead of printing a traceback for every message."""

    def handleError(self, record: logging.LogRecord) -> None:
        pass


LOG_FILE_BYTES, LOG_FILE_KEPT = 1 << 20, 3


def setup_logging(level: str, log_file: Path | None = None, file_level: str | None = None
                  ) -> None:
    """stderr, syslog when there is one, and the log file `hv log` reads (rotated at 1 MiB,
    three kept), at file_level (default: level)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    handlers[0].setLevel(level.upper())
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        to_file = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_KEPT)
        to_file.setLevel((file_level or level).upper())
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handlers.append(to_file)
    for addr in ("/var/run/log", "/dev/log"):
        if os.path.exists(addr):
            with contextlib.suppress(OSError):
                syslog = _SysLog(address=addr)
                syslog.setFormatter(logging.Formatter("hvd[%(process)d]: %(message)s"))
                syslog.setLevel(level.upper())
                handlers.append(syslog)
            break
    handlers[0].setFormatter(logging.Formatter("%(asctime)s hvd %(levelname)s %(message)s"))
    logging.basicConfig(level=min(h.level for h in handlers), handlers=handlers, force=True)


class StopSignal:
    """SIGTERM or SIGINT, caught from the moment it is made. wait() wakes every second: the
    kernel may deliver a signal to any thread, and the Python handler runs only when the main
    thread wakes, so one long wait could outlast a `service hvd stop` by an hour."""

    def __init__(self) -> None:
        self._event = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._caught)

    def _caught(self, signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        self._event.set()

    def wait(self) -> None:
        while not self._event.wait(1.0):
            pass


def serve(settings: Settings) -> int:
    setup_logging(settings.log_level, settings.log_path)
    lock_file = acquire_root_lock(settings)
    pid_path = settings.pid_path
    pid_path.write_text(f"{os.getpid()}\n")
    stop = StopSignal()
    try:
        running = start(settings)
    except (OSError, RuntimeError, ValueError, StoreError) as exc:
        log.error("cannot start: %s", exc)
        pid_path.unlink(missing_ok=True)
        return 1
    where = [str(settings.socket)] if settings.socket else []
    where += [f"{h}:{p}" for h, p in running.ssh_addresses]
    log.info("hvd %d serving %s on %s", os.getpid(), settings.root, ", ".join(where) or "nothing")
    try:
        stop.wait()
    finally:
        running.stop()
        pid_path.unlink(missing_ok=True)
        lock_file.close()
    log.info("hvd stopped")
    return 0


def user_command(args: argparse.Namespace) -> int:
    db = UserDB.for_root(Path(args.root or "/hv"))
    if args.user_cmd == "add":
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                print("hvd: empty password on stdin", file=sys.stderr)
                return 2
        keys: list[str] = []
        for key_file in args.authorized_key or []:
            keys.extend(Path(key_file).read_text().splitlines())
        try:
            db.add(args.name, password=password, keys=keys, groups=args.group or [])
        except ValueError as exc:
            print(f"hvd: {exc}", file=sys.stderr)
            return 2
        print(f"user {args.name} saved")
    elif args.user_cmd == "del":
        try:
            db.delete(args.name)
        except KeyError:
            print(f"hvd: no user {args.name}", file=sys.stderr)
            return 1
    else:
        for user in db.list():
            auth = [a for a, on in (("password", user.password),
                                    (f"{len(user.authorized_keys)} keys",
                                     user.authorized_keys)) if on]
            print(f"{user.name}\t{','.join(user.groups) or '-'}\t{' '.join(auth) or 'no login'}")
    return 0


def check_host_command(settings: Settings) -> int:
    """Print what the host lacks (exit 1) or that it has everything (exit 0)."""
    host = select_backend(settings.backend, settings.root)
    findings = check_host(host, zfs_parent=settings.zfs_parent, root=str(settings.root))
    print(render(findings))
    return 0 if all(f.ok for f in findings) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hvd", description="NETCONF server for bhyve hosts")
    parser.add_argument("--version", action="version", version=f"hvd {__version__}")
    add_arguments(parser)
    sub = parser.add_subparsers(dest="command")
    user = sub.add_parser("user", help="manage NETCONF users")
    user.add_argument("--root", dest="user_root", help="the hvd tree (default /hv)")
    usub = user.add_subparsers(dest="user_cmd", required=True)
    add = usub.add_parser("add")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true")
    add.add_argument("--authorized-key", action="append", metavar="FILE")
    add.add_argument("--group", action="append")
    delete = usub.add_parser("del")
    delete.add_argument("name")
    usub.add_parser("list")
    sub.add_parser("check-host", help="report what the host lacks for hvd, with the fixes")
    selftest.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "user":
        args.root = args.user_root or args.root
        return user_command(args)
    if args.command == "selftest":
        return selftest.main(args)
    try:
        settings = from_args(args)
    except (OSError, ValueError) as exc:
        print(f"hvd: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-host":
        return check_host_command(settings)
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
