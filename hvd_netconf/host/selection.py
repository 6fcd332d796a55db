"""Which host backend a daemon runs on (freebsd on FreeBSD, the sim anywhere else, or as set),
and whether its networks go through netd."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from hvd_netconf.config import BackendName
from hvd_netconf.host.backend import Host
from hvd_netconf.host.freebsd import FreeBSDHost
from hvd_netconf.host.netd import Netd, detect
from hvd_netconf.host.sim.host import SimHost

log = logging.getLogger("hvd.host")


def resolve(name: BackendName) -> BackendName:
    """The backend 'auto' stands for here, without opening it (the sim's state is on disk)."""
    if name == "auto":
        return "freebsd" if sys.platform.startswith("freebsd") else "sim"
    return name


def select_backend(name: BackendName, root: Path) -> Host:
    """Pick the backend; 'auto' means freebsd on FreeBSD and sim anywhere else, said loudly."""
    if name == "auto":
        name = resolve(name)
        log.info("host backend auto-selected: %s (platform %s)", name, sys.platform)
    if name == "freebsd":
        return FreeBSDHost()
    if name == "sim":
        log.warning(
            "host backend is SIMULATED (state in %s): nothing real is configured, "
            "no VM really runs",
            Path(root) / ".sim",
        )
        return SimHost(Path(root))
    raise ValueError(f"unknown host backend {name!r} (auto, freebsd or sim)")


def select_netd(socket: Path | None) -> Netd | None:
    """The netd session networks go through when a usable netd answers on socket (a
    generation 3 with a candidate, docs/freebsd-facts.md §13), else None: ifconfig. On the sim
    backend only the sim's stand-in netd (host/sim/netd.py) can answer."""
    if socket is None:
        return None
    found = detect(socket)
    log.info("netd: %s", found.summary())
    return Netd(socket) if found.used else None
