"""A sim host on tmp_path with one bridge, VM configs built in code, and real stand-in guests.

Every process a test spawns is tracked and killed at teardown, so none is left behind.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from support.waiting import wait_for

from hvd_netconf.host import ifconfig, names
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.supervisor.core import Supervisor

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
VM_NS = "urn:hvd:vm"
NET_NS = "urn:hvd:network"


class TrackingHost(SimHost):
    """The sim host, remembering every child it spawns so teardown can reap them all."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.children: list[subprocess.Popen[bytes]] = []

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        proc = super().spawn(argv, log_path=log_path)
        self.children.append(proc)
        return proc


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str, int | None]] = []
        self.times: list[float] = []
        self.cond = threading.Condition()

    def __call__(self, name: str, old: str, new: str, reason: str, code: int | None) -> None:
        with self.cond:
            self.items.append((name, old, new, reason, code))
            self.times.append(time.monotonic())
            self.cond.notify_all()

    def of(self, name: str) -> list[tuple[str, str]]:
        with self.cond:
            return [(o, n) for v, o, n, _r, _c in self.items if v == name]

    def when(self, name: str, new: str) -> float:
        """When `name` first went to status `new`."""
        with self.cond:
            return next(t for (v, _o, n, _r, _c), t in zip(self.items, self.times, strict=True)
                        if v == name and n == new)


class Config:
    """The running <config> as the datastore would hand it over."""

    def __init__(self) -> None:
        self.vms: dict[str, str] = {}
        self.networks: dict[str, int] = {"lan": 1500}
        self.network_leaves: dict[str, str] = {}  # more leaves of a network, as XML

    def root(self) -> etree._Element:
        nets = "".join(f"<network><name>{n}</name><mtu>{m}</mtu>"
                       f"{self.network_leaves.get(n, '')}</network>"
                       for n, m in self.networks.items())
        vms = "".join(f"<vm><name>{n}</name>{body}</vm>" for n, body in self.vms.items())
        return etree.fromstring(
            f'<config xmlns="{BASE}"><vms xmlns="{VM_NS}">{vms}</vms>'
            f'<networks xmlns="{NET_NS}">{nets}</networks></config>')


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.host = TrackingHost(root)
        self.config = Config()
        self.events = Events()
        self.supervisors: list[Supervisor] = []
        self.chain: list[tuple[int, str, str, str, str]] = []
        self.firmware = root / "firmware"
        self.firmware.mkdir()
        for f in ("BHYVE_UEFI_CODE.fd", "BHYVE_UEFI_VARS.fd", "BHYVE_UEFI.fd"):
            (self.firmware / f).write_text(f"placeholder {f} for the sim host\n")
        self.host.run(ifconfig.bridge_create(names.bridge_name("lan"), "hvd:net/lan"))

    def supervisor(self, **kw: Any) -> Supervisor:
        index = len(self.supervisors)

        def on_event(name: str, old: str, new: str, reason: str, code: int | None) -> None:
            self.chain.append((index, name, old, new, reason))
            self.events(name, old, new, reason, code)

        opts: dict[str, Any] = dict(zfs_parent="zroot/hv", on_event=on_event,
                                    firmware_dir=str(self.firmware), kill_grace=2.0,
                                    poll_interval=0.02)
        opts.update(kw)
        sup = Supervisor(self.host, self.root, self.config.root, **opts)
        self.supervisors.append(sup)
        return sup

    def add_vm(self, name: str, body: str = "", *, nics: int = 1,
               standin: dict[str, Any] | None = None, nic_leaves: str = "") -> None:
        nic_xml = "".join(f"<nic><name>nic{i}</name><network>lan</network>{nic_leaves}</nic>"
                          for i in range(nics))
        self.config.vms[name] = body + nic_xml
        self.standin(name, **(standin or {}))

    def standin(self, name: str, **settings: Any) -> None:
        state = self.root / "vm" / name / "state"
        state.mkdir(parents=True, exist_ok=True)
        conf = {"poweroff_delay": 0.05, "poll_interval": 0.01, **settings}
        (state / "standin.json").write_text(json.dumps(conf))

    def make_exit(self, name: str, code: int) -> None:
        path = self.root / "vm" / name / "state" / "standin-exit"
        tmp = path.with_name("standin-exit.tmp")
        tmp.write_text(f"{code}\n")
        tmp.replace(path)

    def sim(self) -> dict[str, Any]:
        return self.host.state()

    def taps(self) -> list[str]:
        return sorted(n for n, i in self.sim()["interfaces"].items() if i["kind"] == "tap")

    def members(self) -> list[str]:
        return self.sim()["interfaces"][names.bridge_name("lan")]["members"]

    wait_for = staticmethod(wait_for)

    def ready(self, name: str, times: int = 1) -> None:
        """Wait until the stand-in guest has started `times` times (its signal handlers are
        installed only once the interpreter is up, as bhyve needs a moment too)."""
        log = self.root / "vm" / name / "state" / "bhyve.log"
        self.wait_for(lambda: log.exists() and log.read_text().count(": guest running") >= times)

    @staticmethod
    def alive(pid: int) -> bool:
        """A live process, not a zombie."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().split(") ", 1)[1][0] != "Z"
        except OSError:
            return False

    def teardown(self) -> None:
        for sup in self.supervisors:
            sup.detach()
        for proc in self.host.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        self.check_event_chains()

    def check_event_chains(self) -> None:
        """Every transition was reported: per supervisor, each VM's events form one unbroken
        chain starting from stopped."""
        last: dict[tuple[int, str], str] = {}
        for sup, name, old, new, reason in self.chain:
            assert old == last.get((sup, name), "stopped"), (
                f"{name}: gap before {old}->{new} ({reason})")
            assert old != new
            last[(sup, name)] = new


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    try:
        yield e
    finally:
        e.teardown()
