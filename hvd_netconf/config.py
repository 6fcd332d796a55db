"""Daemon settings: defaults, a TOML file, then the command line (which wins)."""

from __future__ import annotations

import argparse
import ipaddress
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from hvd_netconf.wire.certnames import CertToName, parse_entries
from hvd_netconf.wire.session import WireLimits
from hvd_netconf.xmlparse import XmlLimits

DEFAULT_ROOT = Path("/hv")
DEFAULT_SOCKET = Path("/var/run/hvd.sock")
BackendName = Literal["auto", "freebsd", "sim"]
BACKENDS: tuple[BackendName, ...] = ("auto", "freebsd", "sim")


@dataclass(frozen=True)
class Settings:
    root: Path = DEFAULT_ROOT
    socket: Path | None = DEFAULT_SOCKET
    socket_group: str | None = None
    socket_mode: int = 0o660
    listen: tuple[tuple[str, int], ...] = ()
    backend: BackendName = "auto"
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
    iso_dir: Path | None = None  # installation ISOs (list-isos, add-iso); None: ROOT/iso
    netd_socket: Path | None = None  # drive netd there if usable; None: ifconfig only
    stop_vms_on_exit: bool = True  # False: leave guests running for the next hvd to adopt
    history_size: int = 50
    # RESTCONF (RFC 8040) over HTTPS: off while restconf-listen is empty; docs/restconf.md.
    restconf_listen: tuple[tuple[str, int], ...] = ()
    restconf_cert: Path | None = None  # PEM certificate chain; required with restconf-listen
    restconf_key: Path | None = None  # PEM private key of restconf-cert
    restconf_client_ca: Path | None = None  # CAs whose client certificates name a user
    # RFC 7407 cert-to-name entries for those certificates; empty: the subject's CN
    restconf_cert_to_name: tuple[CertToName, ...] = ()
    restconf_max_body: int = 16 * 1024 * 1024  # bytes of one request body
    restconf_header_timeout: float = 30.0  # a request must arrive whole within this
    restconf_auth_delay: float = 0.5  # first failed login's delay; doubles per failure, <= 8 s
    restconf_max_connections: int = 256  # open HTTPS connections; more are closed at accept
    boot_from: str = "running"  # "startup": running becomes the saved startup at start
    # NETCONF over TLS (RFC 7589): off unless addresses are given; port 6513 if none is.
    tls_listen: tuple[tuple[str, int], ...] = ()
    tls_cert: Path | None = None  # the server's certificate (PEM)
    tls_key: Path | None = None  # its private key (PEM)
    tls_ca: Path | None = None  # the CA(s) client certificates must chain to (PEM)
    tls_users: dict[str, str] = field(default_factory=dict)  # sha256:<fp> | cn:<name> -> user
    tls_cert_to_name: tuple[CertToName, ...] = ()  # RFC 7407 entries, tried before tls-users
    # NETCONF call home over SSH (RFC 8071): management stations hvd dials; port 4334 if none.
    call_home: tuple[tuple[str, int], ...] = ()
    # Statistics kept in the daemon (docs/statistics.md): PERIOD:SPAN tiers, finest first;
    # "" keeps none and samples nothing.
    stats_history: str = "5s:1h,1m:1d"
    # Prometheus /metrics: off while empty; off loopback it needs metrics-cert and -key and
    # asks hvd's users to log in (HTTP Basic).
    metrics_listen: tuple[tuple[str, int], ...] = ()
    metrics_cert: Path | None = None  # PEM certificate chain for HTTPS
    metrics_key: Path | None = None  # its private key
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
    def iso_path(self) -> Path:
        """Where list-isos looks and add-iso puts images."""
        return self.iso_dir or self.root / "iso"

    @property
    def log_path(self) -> Path:
        return self.log_file or self.state_dir / "hvd.log"

    @property
    def pid_path(self) -> Path:
        return self.pid_file or self.state_dir / "hvd.pid"


_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(text: str) -> int:
    number, unit = text[:-1], text[-1:]
    if unit not in _UNIT or not number.isdigit() or int(number) < 1:
        raise ValueError(f"bad duration {text!r} in stats-history: a whole number with s, m, "
                         "h or d, such as 5s or 1h")
    return int(number) * _UNIT[unit]


def history_tiers(text: str) -> tuple[tuple[int, int], ...]:
    """stats-history `5s:1h,1m:1d` -> ((5, 720), (60, 1440)): each tier's period in seconds
    and how many samples it keeps; each period a multiple of the one before."""
    tiers: list[tuple[int, int]] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        period_text, sep, span_text = part.partition(":")
        if not sep:
            raise ValueError(f"bad stats-history tier {part!r}: PERIOD:SPAN, such as 5s:1h")
        period, span = _seconds(period_text), _seconds(span_text)
        if span < period:
            raise ValueError(f"stats-history tier {part!r} keeps less than one sample")
        if tiers and period % tiers[-1][0]:
            raise ValueError(f"stats-history period {period_text} is not a multiple of the "
                             "one before it")
        tiers.append((period, span // period))
    return tuple(tiers)


def is_loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


TLS_PORT = 6513  # RFC 7589 §2
CALL_HOME_PORT = 4334  # RFC 8071 §3.1, netconf-ch-ssh


def parse_listen(text: str, default_port: int | None = None) -> tuple[str, int]:
    """`HOST:PORT`, `[v6]:PORT` or `v6::addr:PORT` -> (host, port); with a default port,
    also `HOST` and `[v6]`."""
    if default_port is not None:
        if text.startswith("[") and text.endswith("]"):
            return text[1:-1], default_port
        if text and ":" not in text:
            return text, default_port
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


_PATHS = {"root", "socket", "pid_file", "firmware_dir", "iso_dir", "netd_socket", "restconf_cert",
          "restconf_key", "restconf_client_ca", "tls_cert", "tls_key", "tls_ca", "log_file",
          "metrics_cert", "metrics_key"}
_DEFAULT_PORTS = {"listen": None, "restconf_listen": None, "tls_listen": TLS_PORT,
                  "call_home": CALL_HOME_PORT, "metrics_listen": None}
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
        elif name in _DEFAULT_PORTS:
            value = tuple(parse_listen(v, _DEFAULT_PORTS[name]) for v in value)
        elif name == "tls_users":
            if not isinstance(value, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise ValueError("tls-users must be a table of \"sha256:...\" or \"cn:...\" "
                                 "= \"user\"")
            value = dict(value)
        elif name in ("restconf_cert_to_name", "tls_cert_to_name"):
            value = parse_entries(value, key)
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
    if settings.boot_from not in ("running", "startup"):
        raise ValueError("boot-from must be running or startup")
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
    if settings.restconf_listen and not (settings.restconf_cert and settings.restconf_key):
        raise ValueError("restconf-listen needs restconf-cert and restconf-key (PEM files)")
    if settings.restconf_max_body < 1024 or settings.restconf_header_timeout <= 0:
        raise ValueError("restconf-max-body must be at least 1024 and "
                         "restconf-header-timeout above 0")
    if settings.restconf_auth_delay < 0:
        raise ValueError("restconf-auth-delay must not be negative")
    if settings.restconf_max_connections < 0:
        raise ValueError("restconf-max-connections must not be negative")
    if settings.restconf_cert_to_name and settings.restconf_client_ca is None:
        raise ValueError("restconf-cert-to-name needs restconf-client-ca")
    if settings.tls_listen and None in (settings.tls_cert, settings.tls_key, settings.tls_ca):
        raise ValueError("tls-listen needs tls-cert, tls-key and tls-ca")
    history_tiers(settings.stats_history)
    remote = [h for h, _p in settings.metrics_listen if not is_loopback(h)]
    if remote and not (settings.metrics_cert and settings.metrics_key):
        raise ValueError(f"metrics-listen on {remote[0]} (not loopback) needs metrics-cert and "
                         "metrics-key: scrapes log in with a password there")
    for key in settings.tls_users:
        kind = key.partition(":")[0].lower()
        if kind not in ("sha256", "cn") or not key.partition(":")[2]:
            raise ValueError(f"tls-users key {key!r} must be sha256:<fingerprint> or cn:<name>")


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
