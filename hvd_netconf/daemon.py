"""`hvd`: start the server (wiring only) and `hvd user ...` to manage SSH users."""

from __future__ import annotations

import argparse
import contextlib
import copy
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

from lxml import etree

from hvd_netconf import __version__, notify, operational, selftest, xmlparse
from hvd_netconf.apply.engine import cut_short, ensure_layout
from hvd_netconf.apply.engine import recover as recover_host
from hvd_netconf.apply.hook import HostApply, dhcp_changes, journal_path
from hvd_netconf.calls import RawXml, SessionInfo
from hvd_netconf.committer import Committer, HostApplier
from hvd_netconf.config import Settings, add_arguments, from_args, history_tiers
from hvd_netconf.edit.diff import entries
from hvd_netconf.errors import RpcError
from hvd_netconf.host import specs
from hvd_netconf.host.selection import select_backend, select_netd
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.hostcheck import check_backend, render
from hvd_netconf.nacm import running as nacm_rules
from hvd_netconf.nacm.access import nacm_state
from hvd_netconf.namespaces import (
    BASE,
    CAP_PREFIX,
    HVD,
    MONITORING,
    NACM,
    NETMOD_NOTIF,
    NETWORK,
    NOTIF,
    TEMPLATE,
    VM,
    YANG_LIBRARY,
    YANG_PATCH,
    default_ns,
    qn,
)
from hvd_netconf.notify import NotificationBus, push
from hvd_netconf.notify.push import Subscriptions
from hvd_netconf.ops import (
    backups,
    candidates,
    clones,
    edit,
    history,
    info,
    install,
    locks,
    logs,
    monitoring,
    notifications,
    pools,
    preview,
    retrieval,
    session,
    snapshots,
    startup,
    stats_history,
    templates,
    transactions,
    vm,
    vmbhyve,
    yangpush,
)
from hvd_netconf.ops.backup_schedule import BackupScheduler
from hvd_netconf.ops.boot import boot_from_startup
from hvd_netconf.ops.iscsiwatch import IscsiWatch
from hvd_netconf.ops.registry import OpContext, Registry, ServerView
from hvd_netconf.ops.snapshot_schedule import SnapshotScheduler
from hvd_netconf.ops.uplinks import UplinkWatch
from hvd_netconf.restconf import monitoring as restconf_monitoring
from hvd_netconf.restconf.listener import RestconfListener
from hvd_netconf.schema import load_schema
from hvd_netconf.server import Server
from hvd_netconf.state import StateProviders
from hvd_netconf.stats import state as stats_state
from hvd_netconf.stats.sampler import Sampler
from hvd_netconf.store import Datastores, StoreError
from hvd_netconf.supervisor.core import Supervisor
from hvd_netconf.supervisor.dhcp import DhcpServers
from hvd_netconf.transport.callhome import CallHome
from hvd_netconf.transport.metrics import MetricsListener
from hvd_netconf.transport.ssh import SshListener, load_host_key
from hvd_netconf.transport.tls import TlsListener, server_context
from hvd_netconf.transport.unix import UnixListener
from hvd_netconf.users import UserDB

log = logging.getLogger("hvd")

Attach = Callable[[Server], None]


def operations() -> Registry:
    """Every NETCONF operation hvd answers, with the capabilities each one earns the hello
    (in the hello's order)."""
    reg = Registry()
    cap = CAP_PREFIX
    yang_library = monitoring.yang_library_capability()
    if yang_library is not None:
        reg.add_capability(yang_library)
    reg.add_capability(startup.CAP_STARTUP)
    reg.add(BASE, "commit", transactions.commit_op,
            capabilities=[f"{cap}candidate:1.0", f"{cap}confirmed-commit:1.1"])
    reg.add(BASE, "cancel-commit", transactions.cancel_commit_op)
    reg.add(BASE, "discard-changes", transactions.discard_changes_op)
    reg.add(BASE, "validate", transactions.validate_op, capabilities=[f"{cap}validate:1.1"])
    reg.add(BASE, "copy-config", transactions.copy_config_op)
    reg.add(BASE, "delete-config", transactions.delete_config_op)
    reg.add(BASE, "edit-config", edit.edit_config_op,
            capabilities=[f"{cap}writable-running:1.0", f"{cap}rollback-on-error:1.0"])
    reg.add(YANG_PATCH, "yang-patch", edit.yang_patch_op)  # RESTCONF's, edits in order
    reg.add(HVD, "get-commit-history", history.get_commit_history_op)
    reg.add(HVD, "compare", history.compare_op)
    reg.add(HVD, "rollback", history.rollback_op)
    reg.add(BASE, "lock", locks.lock)
    reg.add(BASE, "unlock", locks.unlock)
    reg.add(MONITORING, "get-schema", monitoring.get_schema, capabilities=[
        f"{MONITORING}?module=ietf-netconf-monitoring&revision=2010-10-04"])
    reg.add(NOTIF, "create-subscription", notifications.create_subscription,
            capabilities=[notifications.CAP_NOTIFICATION, notifications.CAP_INTERLEAVE])
    for sn_op, handler in (("establish-subscription", yangpush.establish_subscription),
                           ("modify-subscription", yangpush.modify_subscription),
                           ("delete-subscription", yangpush.delete_subscription),
                           ("kill-subscription", yangpush.kill_subscription)):
        reg.add(push.SN, sn_op, handler)
    reg.add(push.YP, "resync-subscription", yangpush.resync_subscription)
    reg.add(HVD, "preview-commit", preview.preview_commit)
    reg.add(HVD, "private-candidate", candidates.private_candidate)
    reg.add(BASE, "get-config", retrieval.get_config,
            capabilities=[retrieval.CAP_XPATH, retrieval.CAP_WITH_DEFAULTS])
    reg.add(BASE, "get", retrieval.get,
            capabilities=[retrieval.CAP_XPATH, retrieval.CAP_WITH_DEFAULTS])
    reg.add(BASE, "close-session", session.close_session)
    reg.add(BASE, "kill-session", session.kill_session)
    # VM control waits on the VM, not on the datastores: it runs outside the server lock.
    reg.add(VM, "start-vm", vm.start_vm, serialized=False)
    reg.add(VM, "stop-vm", vm.stop_vm, serialized=False)
    reg.add(VM, "restart-vm", vm.restart_vm, serialized=False)
    reg.add(VM, "get-vm-log", logs.get_vm_log, serialized=False)
    reg.add(VM, "get-vm-statistics-history", stats_history.get_vm_statistics_history,
            serialized=False)
    # install-vm takes the datastore lock for its commit only, then starts the VM.
    reg.add(VM, "install-vm", install.install_vm, serialized=False)
    reg.add(VM, "list-isos", install.list_isos, serialized=False)
    reg.add(VM, "add-iso", install.add_iso, serialized=False)
    reg.add(VM, "write-disk-image", install.write_disk_image, serialized=False)
    reg.add(VM, "vm-info", info.vm_info, serialized=False)
    reg.add(TEMPLATE, "create-vm", templates.create_vm)
    reg.add(TEMPLATE, "list-templates", templates.list_templates)
    reg.add(VM, "snapshot-vm", snapshots.snapshot_vm)
    reg.add(VM, "delete-snapshot", snapshots.delete_snapshot)
    reg.add(VM, "rollback-vm", snapshots.rollback_vm)
    # clone-vm and restore-vm take the datastore lock for their checks and commits, and move
    # their streams without it (their jobs' progress is read meanwhile)
    reg.add(VM, "clone-vm", clones.clone_vm, serialized=False)
    # backup-vm takes the datastore lock to read and snapshot only, so cancel-backup (never
    # serialized) can stop it while its streams move.
    reg.add(VM, "backup-vm", backups.backup_vm, serialized=False)
    reg.add(VM, "cancel-backup", backups.cancel_backup, serialized=False)
    reg.add(VM, "list-backups", backups.list_backups)
    reg.add(VM, "restore-vm", backups.restore_vm, serialized=False)
    reg.add(VM, "import-vm-bhyve", vmbhyve.import_vm_bhyve)
    reg.add(HVD, "get-log", logs.get_log, serialized=False)
    return reg


def state_providers() -> StateProviders[ServerView]:
    """The config-false data <get> adds, by the top-level containers each provider writes."""
    providers: StateProviders[ServerView] = StateProviders()
    providers.add("vm-state", operational.vm_state, tops=[(VM, "vms")])
    providers.add("snapshots", snapshots.snapshots_state, tops=[(VM, "snapshots")])
    providers.add("resource-pools", pools.pools_state, tops=[(VM, "resource-pools")])
    providers.add("backup-jobs", lambda server, data: server.jobs.write_state(data),
                  tops=[(VM, "backup-jobs")])
    providers.add("network-state", operational.network_state, tops=[(NETWORK, "networks")])
    providers.add("host", operational.host_state, tops=[(HVD, "host")])
    providers.add("vm-statistics", stats_state.vm_statistics, tops=[(VM, "vms")],
                  below="statistics")
    providers.add("network-statistics", stats_state.network_statistics,
                  tops=[(NETWORK, "networks")], below="statistics")
    providers.add("host-statistics", stats_state.host_statistics, tops=[(HVD, "host")],
                  below="statistics")
    providers.add("interrupted-commit", candidates.interrupted_state, tops=[(HVD, "host")])
    providers.add("candidate", candidates.candidate_state, tops=[(HVD, "candidate")])
    providers.add("nacm", nacm_state, tops=[(NACM, "nacm")])
    providers.add("netconf-state", monitoring.netconf_state,
                  tops=[(MONITORING, "netconf-state")])
    providers.add("yang-library", monitoring.yang_library,
                  tops=[(YANG_LIBRARY, "yang-library")])
    providers.add("netconf-streams", notifications.streams, tops=[(NETMOD_NOTIF, "netconf")])
    providers.add("restconf-state", restconf_monitoring.restconf_state,
                  tops=[(restconf_monitoring.RCMON, "restconf-state")])
    return providers


def new_server(settings: Settings) -> Server:
    """A server that answers hvd's operations and state; its parts are wired next."""
    return Server(settings, operations(), state_providers())


def wire_datastores(server: Server, *, fsync: bool = True) -> Datastores:
    """The schema, the datastores on the server's root and the /nacm rules stored there."""
    settings = server.settings
    schema = server.schema = load_schema()
    datastores = server.datastores = Datastores(
        str(settings.root), schema, fsync=fsync, history_limit=settings.history_size,
        limits=settings.wire_limits.xml, lock=server.lock)
    nacm_rules.load_stored(server.nacm, schema, datastores)
    server.add_session_end_hook(candidates.session_ended(server))
    return datastores


def wire_notifications(server: Server) -> NotificationBus:
    """The notification bus; it publishes every session's start and end."""
    bus = server.notifications = NotificationBus()
    started, ended = notify.session_hooks(bus)
    server.add_session_start_hook(started)
    server.add_session_end_hook(ended)
    return bus


def wire_subscriptions(server: Server) -> Subscriptions:
    """YANG-Push's dynamic subscriptions: each read is a <get> (or get-config of running) as
    its subscriber, under the server lock as any request, and with NACM; they end with their
    session, and on-change ones look again after each published event."""

    def read(info: SessionInfo, selection: etree._Element | None,
             datastore: str) -> etree._Element:
        name = "get" if datastore == "operational" else "get-config"
        op = etree.Element(qn(BASE, name), nsmap=default_ns(BASE))
        if name == "get-config":
            etree.SubElement(etree.SubElement(op, qn(BASE, "source")), qn(BASE, "running"))
        if selection is not None:
            flt = etree.SubElement(op, qn(BASE, "filter"), type="subtree")
            flt.extend(copy.deepcopy(c) for c in selection)
        found = server.registry.lookup(BASE, name)
        assert found is not None  # operations() has both
        with server.lock:
            server.nacm.authorize_rpc(info, BASE, name, op)
            result = server.nacm.filter_reply(info, BASE, name,
                                              found.handler(OpContext(server, info), op))
        if isinstance(result, RawXml):
            return xmlparse.parse(result.data, xmlparse.XmlLimits(max_bytes=1 << 30,
                                                                 max_elements=1 << 26))
        if isinstance(result, etree._Element):
            return result
        return result[0] if result else etree.Element(qn(BASE, "data"))

    schema = server.schema
    subs = server.subscriptions = Subscriptions(
        read, {m.namespace: m.name for m in schema.modules} if schema is not None else {})
    server.add_session_end_hook(lambda info, _reason, _killer: subs.session_ended(info))
    if server.notifications is not None:
        server.notifications.listeners.append(subs.changed)
    return subs


def wire_committer(server: Server, host: HostApplier | None) -> Committer:
    """Running's one write path; it guards locks and ends a session's confirmed commit, and
    a confirmed commit left pending by the last run is restored (or reverted) now."""
    assert server.datastores is not None
    committer = server.committer = Committer(server.datastores, server.nacm,
                                             server.notifications, host, server.lock)
    server.locks.add_guard(committer.lock_guard)
    server.locks.add_release_hook(committer.lock_released)
    server.add_session_end_hook(committer.session_ended)
    with server.lock:
        committer.restore()
    return committer


def wire_store(server: Server, *, fsync: bool = True) -> None:
    """The configuration side without a host (tests, benchmarks): what wire_components
    builds, minus the host backend, the supervisor and the host apply."""
    wire_datastores(server, fsync=fsync)
    wire_notifications(server)
    wire_committer(server, None)


def wire_components(server: Server) -> None:
    """Compose the application: schema, host backend, datastores, notifications, the VM
    supervisor and the commit path with its host apply. The one place where the parts meet."""
    settings = server.settings
    host = server.host = select_backend(settings.backend, settings.root)
    netd = server.netd = select_netd(settings.netd_socket)
    ensure_layout(host, settings.zfs_parent, str(settings.root))
    datastores = wire_datastores(server)
    journal = journal_path(datastores)
    interrupted = cut_short(journal, datastores.history.last_id)
    recover_host(host, journal, datastores.history.last_id, netd)  # a cut-short commit's steps
    bus = wire_notifications(server)
    wire_subscriptions(server)
    set_aside = candidates.set_aside_interrupted(datastores) if interrupted else None
    if set_aside is not None:
        bus.publish(candidates.interrupted_notification(set_aside))

    def on_vm_event(name: str, old: str, new: str, reason: str, code: int | None) -> None:
        bus.publish(operational.vm_state_change(name, old, new, reason, code))

    firmware = settings.firmware_dir or (host.firmware_dir() if isinstance(host, SimHost)
                                         else None)
    # The supervisor reads the live running tree without the server lock: a commit holding
    # the lock may wait for a VM to stop, and that VM's exit handling reads its config.
    supervisor = server.supervisor = Supervisor(
        host, settings.root, lambda: datastores.running.root,
        zfs_parent=settings.zfs_parent, on_event=on_vm_event,
        on_installed=install.installed(server),
        firmware_dir=str(firmware) if firmware else None,
        entry=lambda key: datastores.running.get(key), netd=netd)
    dhcp = server.dhcp = DhcpServers(host, settings.state_dir)
    wire_committer(server, HostApply(settings, host, supervisor, datastores, dhcp, netd))
    tiers = history_tiers(settings.stats_history)
    if tiers:
        server.sampler = Sampler(host, lambda known: stats_state.running_guests(
            supervisor, operational.entries(datastores.running.root, VM, "vms", "vm"),
            settings.zfs_parent, known), tiers)
        server.sampler.start()
    for name, outcome in supervisor.adopt().items():
        log.info("VM %s at start: %s", name, outcome)
    start_dhcp(dhcp, datastores.running.root, str(settings.state_dir))
    scheduler = server.snapshot_scheduler = SnapshotScheduler(
        host, datastores, server.lock, settings.zfs_parent, bus.publish)
    scheduler.start()
    watch = server.uplink_watch = UplinkWatch(host, datastores, bus.publish, netd)
    watch.run_pass()  # the states as they are at start: changes are told from now on
    watch.start()
    backups_due = server.backup_scheduler = BackupScheduler(server, bus.publish)
    backups_due.start()
    sessions = server.iscsi_watch = IscsiWatch(host, datastores, supervisor, bus.publish)
    sessions.run_pass()
    sessions.start()


def start_dhcp(dhcp: DhcpServers, running: etree._Element, state_dir: str) -> None:
    """The DHCP servers running's networks ask for (they stop when hvd does), and none for
    the others: one a killed hvd left (its pid file says) is stopped and its files go."""
    empty = etree.Element(running.tag)
    wanted = {net: now for net, _was, now in dhcp_changes(
        empty, running, (), entries(running).get, state_dir, specs.Memo())}
    for net in sorted(dhcp.left() | set(wanted)):
        try:
            dhcp.apply(net, wanted.get(net))
        except RpcError as e:
            log.error("network %s: its DHCP server did not start: %s", net, e.message)


@dataclass
class Running:
    """A started server and its listeners; `stop()` ends every session and removes the socket."""

    server: Server
    unix: UnixListener | None = None
    ssh: SshListener | None = None
    restconf: RestconfListener | None = None
    tls: TlsListener | None = None
    call_home: CallHome | None = None
    metrics: MetricsListener | None = None
    _stopped: bool = field(default=False, repr=False)

    @property
    def ssh_addresses(self) -> list[tuple[str, int]]:
        return self.ssh.addresses if self.ssh else []

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        listeners = [x for x in (self.unix, self.ssh, self.restconf, self.tls, self.call_home,
                                 self.metrics) if x is not None]
        for listener in listeners:
            listener.stop()
        for live in self.server.sessions.all():
            live.terminate("other")
        for listener in listeners:
            listener.join_connections(2.0)
        if self.server.snapshot_scheduler is not None:
            self.server.snapshot_scheduler.stop()
        for watch in (self.server.uplink_watch, self.server.iscsi_watch,
                      self.server.backup_scheduler):
            if watch is not None:
                watch.stop()
        if self.server.sampler is not None:
            self.server.sampler.stop()
        if self.server.dhcp is not None:
            self.server.dhcp.stop_all()
        supervisor = self.server.supervisor
        if supervisor is not None:
            if self.server.settings.stop_vms_on_exit:
                supervisor.shutdown_all()
            else:
                supervisor.detach()
        datastores = self.server.datastores
        if datastores is not None:
            with self.server.lock:
                if self.server.committer is not None:
                    self.server.committer.stop()
                datastores.close()
        if self.server.netd is not None:  # after the VMs' taps have left their bridges
            self.server.netd.close()


def start(settings: Settings, attach: Attach | None = wire_components) -> Running:
    """Build the server, attach components and start listening; used by main() and tests."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    server = new_server(settings)
    if attach is not None:
        attach(server)
    running = Running(server)
    try:
        if settings.boot_from == "startup" and server.datastores is not None:
            boot_from_startup(server)
        if settings.socket is not None:
            running.unix = UnixListener(server, settings.socket, mode=settings.socket_mode,
                                        group=settings.socket_group)
        if settings.listen:
            running.ssh = SshListener(server, list(settings.listen),
                                      load_host_key(settings.state_dir),
                                      UserDB.for_root(settings.root))
        if settings.restconf_listen:
            running.restconf = RestconfListener(server, settings, UserDB.for_root(settings.root))
        if settings.tls_listen:
            assert settings.tls_cert and settings.tls_key and settings.tls_ca  # config.check
            running.tls = TlsListener(
                server, list(settings.tls_listen),
                server_context(settings.tls_cert, settings.tls_key, settings.tls_ca),
                settings.tls_users, UserDB.for_root(settings.root))
        if settings.call_home:
            running.call_home = CallHome(server, list(settings.call_home),
                                         load_host_key(settings.state_dir),
                                         UserDB.for_root(settings.root))
        if settings.metrics_listen:
            running.metrics = MetricsListener(server, settings, UserDB.for_root(settings.root))
    except BaseException:
        running.stop()
        raise
    for listener in (running.unix, running.ssh, running.restconf, running.tls, running.call_home,
                     running.metrics):
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
    where += [f"https://{h}:{p}" for h, p in running.restconf.addresses] if running.restconf else []
    where += [f"tls {h}:{p}" for h, p in (running.tls.addresses if running.tls else [])]
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
    findings = check_backend(settings.backend, zfs_parent=settings.zfs_parent,
                             root=str(settings.root))
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
