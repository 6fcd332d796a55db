"""Daemon settings: defaults, a TOML file, then the command line (which wins)."""

from __future__ import annotations

import argparse
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hvd_netconf.wire.session import WireLimits
from hvd_netconf.xmlparse import XmlLimits

DEFAULT_ROOT = Path("/hv")
DEFAULT_SOCKET = Path("/var/run/hvd.sock")
BACKENDS = ("auto", "freebsd", "sim")


@dataclass(frozen=True)
class Settings:
    root: Path = DEFAULT_ROOT
    socket: Path | None = DEFAULT_SOCKET
    socket_group: str | None = None
    socket_mode: int = 0o660
    listen: tuple[tuple[str, int], ...] = ()
    backend: str = "auto"
    foreground: bool = False
    pid_file: Path | None = None
    max_message: int = 64 * 1024 * 1024
    max_chunk: int = 64 * 1024 * 1024
    max_hello: int = 1024 * 1024
    max_depth: int = 64  # XML nesting depth of one message
    max_elements: int = 2_000_000  # XML elements in one message
    hello_timeout: float = 30.0  # whole hello exchange, however slowly the bytes trickle in
    idle_timeout: float = 0.0  # 0: sessions never time out for idleness
    max_sessions: int = 1024  # 0: no limit; the recovery session (uid 0, Unix) is not counted
    max_sessions_per_user: int = 64  # 0: no limit
    max_connections: int = 256  # sockets being served before/besides sessions (SSH auth...)
    nacm_admin_group: str = "wheel"  # may do everything while no /nacm is configured
    log_level: str = "info"
    log_file: Path | None = None  # hvd's log as a file too (`hv log`); None: ROOT/.hvd/hvd.log
    zfs_parent: str = "zroot/hv"  # dataset NAME mounted at root; never a path
    firmware_dir: Path | None = None  # UEFI firmware; None: the usual edk2-bhyve places
    netd_socket: Path | None = None  # probe netd there; None: ifconfig only
    stop_vms_on_exit: bool = True  # False: leave guests running for the next hvd to adopt
    history_size: int = 50
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def state_dir(self) -> Path:
        """ROOT/.hvd: host key, users, lock and pid files."""
        return self.root / ".hvd"

    @property
    def wire_limits(self) -> WireLimits:
        return WireLimits(
            max_message=self.max_message,
            max_chunk=self.max_chunk,
            max_hello=min(self.max_hello, self.max_message),
            xml=XmlLimits(max_bytes=self.max_message, max_depth=self.max_depth,
                          max_elements=self.max_elements),
        )

    @property
    def log_path(self) -> Path:
        return self.log_file or self.state_dir / "hvd.log"

    @property
    def pid_path(self) -> Path:
        return self.pid_file or self.state_dir / "hvd.pid"


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `v6::addr:PORT` -> (host, port)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        if not sep:
            raise ValueError(f"bad listen address {text!r}: expected [HOST]:PORT")
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not host:
            raise ValueError(f"bad listen address {text!r}: expected HOST:PORT")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad port in listen address {text!r}")
    return host, int(port)


_PATHS = {"root", "socket", "pid_file", "firmware_dir", "netd_socket", "log_file"}
_KNOWN = {f.name for f in fields(Settings)} - {"extra"}


def from_mapping(data: dict[str, Any], base: Settings | None = None) -> Settings:
    """Settings from a TOML table; keys use `-` or `_`; unknown keys are an error."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in _KNOWN:
            raise ValueError(f"unknown setting {key!r}")
        if name in _PATHS:
            value = Path(value) if value not in (None, "") else None
        elif name == "listen":
            value = tuple(parse_listen(v) for v in value)
        elif name == "socket_mode" and isinstance(value, str):
            value = int(value, 8)
        values[name] = value
    settings = replace(base or Settings(), **values)
    check(settings)
    return settings


def check(settings: Settings) -> None:
    if settings.backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}")
    if settings.socket_mode & 0o007:
        raise ValueError("the socket must never be accessible to others (mode & 0o007)")
    if settings.zfs_parent.startswith("/") or not settings.zfs_parent:
        raise ValueError(f"zfs-parent must be a dataset name such as zroot/hv, not a path "
                         f"({settings.zfs_parent!r})")
    if settings.history_size < 1:
        raise ValueError("history-size must be at least 1")
    if settings.max_message < 1024 or settings.max_chunk < 1:
        raise ValueError("max-message must be at least 1024 and max-chunk at least 1")
    if settings.max_hello < 512 or settings.max_depth < 8 or settings.max_elements < 64:
        raise ValueError("max-hello must be at least 512, max-depth 8 and max-elements 64")
    if min(settings.max_sessions, settings.max_sessions_per_user, settings.max_connections) < 0:
        raise ValueError("session and connection limits must not be negative")
    if settings.hello_timeout < 0 or settings.idle_timeout < 0:
        raise ValueError("timeouts must not be negative")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", help="the hvd tree (default /hv)")
    parser.add_argument("--socket", help="Unix socket path (default /var/run/hvd.sock)")
    parser.add_argument("--socket-group", help="group allowed to use the Unix socket")
    parser.add_argument("--listen", action="append", metavar="HOST:PORT",
                        help="SSH listen address, repeatable; none by default")
    parser.add_argument("--backend", choices=BACKENDS)
    parser.add_argument("--config", help="TOML settings file")
    parser.add_argument("--pid-file")
    parser.add_argument("--foreground", action="store_true", default=None)
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"))


def from_args(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if args.config:
        with open(args.config, "rb") as f:
            settings = from_mapping(tomllib.load(f), settings)
    overrides: dict[str, Any] = {}
    for name in ("root", "socket", "pid_file"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = Path(value)
    for name in ("socket_group", "backend", "foreground", "log_level"):
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    if args.listen:
        overrides["listen"] = tuple(parse_listen(v) for v in args.listen)
    settings = replace(settings, **overrides)
    check(settings)
    return settings
