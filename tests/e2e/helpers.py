"""End-to-end helpers: a real hvd (in-process or a child process) on the sim backend, driven
over the wire with ncclient, checked against what a user sees: replies, files, sim host state.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from lxml import etree
from ncclient import manager
from ncclient.xml_ import to_ele
from support.waiting import wait_for

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import BASE, NETWORK, VM
from hvd_netconf.selftest import vm_state_fields

REPO = Path(__file__).resolve().parents[2]
N = {"vm": VM, "net": NETWORK, "nc": BASE}
BIG_FILE = 1 << 20


def alive(pid: int) -> bool:
    """A live process, not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


# -- configuration builders --------------------------------------------------------------


def network_xml(name: str, *, phys: str | None = None, vlan: int | None = None,
                mtu: int | None = None, fib: int | None = None, op: str = "",
                addresses: tuple[str, ...] = (), extra: str = "") -> str:
    attr = f' xc:operation="{op}"' if op else ""
    body = (f"<name>{name}</name>" + "".join(f"<address>{a}</address>" for a in addresses)
            + extra)
    body += f"<physical-interface>{phys}</physical-interface>" if phys else ""
    body += f"<vlan>{vlan}</vlan>" if vlan else ""
    body += f"<mtu>{mtu}</mtu>" if mtu else ""
    body += f"<fib>{fib}</fib>" if fib is not None else ""
    return f"<network{attr}>{body}</network>"


def vm_xml(name: str, *, disks: dict[str, str] | None = None, nics: dict[str, str] | None = None,
           extra: str = "", op: str = "") -> str:
    attr = f' xc:operation="{op}"' if op else ""
    body = f"<name>{name}</name>{extra}"
    body += "".join(f"<disk><name>{d}</name><size>{s}</size></disk>"
                    for d, s in (disks or {}).items())
    body += "".join(f"<nic><name>{n}</name><network>{net}</network></nic>"
                    for n, net in (nics or {}).items())
    return f"<vm{attr}>{body}</vm>"


def config(*, networks: str = "", vms: str = "") -> str:
    out = f'<config xmlns="{BASE}" xmlns:xc="{BASE}">'
    if networks:
        out += f'<networks xmlns="{NETWORK}">{networks}</networks>'
    if vms:
        out += f'<vms xmlns="{VM}">{vms}</vms>'
    return out + "</config>"


# -- reading what a user sees -----------------------------------------------------------


def vm_state(m: manager.Manager, name: str) -> dict[str, Any]:
    """The VM's state container from <get>, leaf -> text (leaf-lists -> list)."""
    reply = m.get(filter=("subtree", f'<vms xmlns="{VM}"><vm><name>{name}</name><state/></vm>'
                                     "</vms>"))
    return vm_state_fields(etree.fromstring(reply.xml.encode()))


def running_xml(m: manager.Manager) -> bytes:
    """get-config of running, canonicalised, so two replies compare byte for byte."""
    reply = m.get_config("running")
    data = etree.fromstring(reply.xml.encode()).find("nc:data", N)
    return etree.tostring(data, method="c14n")


def rpc(m: manager.Manager, xml: str) -> etree._Element:
    return etree.fromstring(m.dispatch(to_ele(xml)).xml.encode())


def start_vm(m: manager.Manager, name: str) -> None:
    rpc(m, f'<start-vm xmlns="{VM}"><name>{name}</name></start-vm>')


def stop_vm(m: manager.Manager, name: str) -> None:
    rpc(m, f'<stop-vm xmlns="{VM}"><name>{name}</name></stop-vm>')


def tree_digest(root: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """relative path -> sha256 of every file under root but the skipped relative paths (a
    symlink: its target). The
    sim's zvols are sparse files of the disk's size: those are compared by size and mtime."""
    out = {}
    for d, _dirs, files in os.walk(root):
        for f in files:
            p = Path(d) / f
            rel = str(p.relative_to(root))
            if rel in skip:
                continue
            if p.is_symlink():  # the sim's console stand-ins point at ptys: never read one
                out[rel] = "-> " + os.readlink(p)
                continue
            st = p.stat()
            if st.st_size > BIG_FILE:
                out[rel] = f"{st.st_size} bytes, mtime {st.st_mtime_ns}"
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


# The sim host's files: its state is compared through sim_state, whatever their layout.
SIM_FILES = (".sim/host.json", ".sim/host.log", ".sim/faults.json")


def sim_state(root: Path) -> dict[str, Any]:
    """The simulated host's state as another process opening it sees it."""
    return SimHost(root).state()


def sim_bytes(root: Path) -> bytes:
    return json.dumps(sim_state(root), sort_keys=True).encode()


def standin(root: Path, vm: str, **settings: Any) -> None:
    """Settings for the stand-in guest of a VM: short delays so the suite stays fast."""
    state = root / "vm" / vm / "state"
    state.mkdir(parents=True, exist_ok=True)
    conf = {"poweroff_delay": 0.05, "poll_interval": 0.01, **settings}
    (state / "standin.json").write_text(json.dumps(conf))


def guest_exit(root: Path, vm: str, code: int) -> None:
    """Ask the running stand-in guest to exit with `code` (as a real guest would)."""
    path = root / "vm" / vm / "state" / "standin-exit"
    tmp = path.with_name("standin-exit.tmp")
    tmp.write_text(f"{code}\n")
    tmp.replace(path)


def guest_ready(root: Path, vm: str, times: int = 1) -> None:
    """The stand-in's signal handlers are installed once its interpreter is up; a test that
    signals it (stop) waits for its `guest running` line first, as bhyve needs a moment too."""
    log = root / "vm" / vm / "state" / "bhyve.log"
    wait_for(lambda: log.exists() and log.read_text().count(": guest running") >= times,
             what=f"stand-in guest {vm} to run ({times})")


def standin_pids(root: Path) -> set[int]:
    """Every stand-in pid this root has recorded (sim /dev/vmm and the VMs' pid files)."""
    pids: set[int] = set()
    with contextlib.suppress(OSError, ValueError):
        pids |= {v["pid"] for v in sim_state(root)["vmm"].values() if v.get("pid")}
    for f in (root / "vm").glob("*/state/pid"):
        with contextlib.suppress(OSError, ValueError):
            pids.add(int(f.read_text()))
    return pids


def kill_standins(root: Path) -> None:
    """Teardown: no stand-in guest of this root survives the test."""
    for pid in standin_pids(root):
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"hvd_netconf.host.sim.standin" in cmd:
                os.kill(pid, signal.SIGKILL)


# -- hvd as a child process --------------------------------------------------------------


class ChildHvd:
    """`python -m hvd_netconf.daemon` on a root, so a test can SIGKILL it like a power cut."""

    def __init__(self, root: Path, sock: Path, log: Path) -> None:
        self.root, self.sock, self.log = root, sock, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.managers: list[manager.Manager] = []

    def start(self, timeout: float = 20.0) -> ChildHvd:
        if self.proc is not None:
            self.proc.wait(timeout=10)  # a killed hvd first, never two on one root
        self.sock.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hvd_netconf.daemon", "--root", str(self.root),
                 "--socket", str(self.sock), "--backend", "sim", "--log-level", "warning"],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        proc = self.proc

        def listening() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"hvd exited with {proc.returncode}: "
                                     + self.log.read_text()[-2000:])
            try:
                m = manager.connect_uds(path=str(self.sock), timeout=5)
            except Exception:
                return False
            m.close_session()
            return True

        wait_for(listening, timeout, "the child hvd to listen")
        return self

    def connect(self) -> manager.Manager:
        m = manager.connect_uds(path=str(self.sock), timeout=30)
        self.managers.append(m)
        return m

    def _drop_managers(self) -> None:
        for m in self.managers:
            with contextlib.suppress(Exception):
                m._session.close()
        self.managers.clear()

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind runs in hvd."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._drop_managers()

    def stop(self) -> int | None:
        """SIGTERM, as rc.d would; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        for m in self.managers:
            with contextlib.suppress(Exception):
                if m.connected:
                    m.close_session()
        self.managers.clear()
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise


def vm_disk(root: Path, vm: str, disk: str) -> Path:
    """The sim's stand-in file for a VM's disk zvol."""
    return SimHost(root).zvol_file(f"zroot/hv/vm/{vm}/disks/{disk}")


def write_disk(root: Path, vm: str, disk: str, data: bytes, at: int) -> None:
    with open(vm_disk(root, vm, disk), "r+b") as f:
        f.seek(at)
        f.write(data)


def disk_content(path: Path) -> tuple[int, list[tuple[int, bytes]]]:
    """A sparse file's size and its data extents' bytes (zeros and holes are the same)."""
    out = []
    with open(path, "rb") as f:
        size, pos = os.fstat(f.fileno()).st_size, 0
        while pos < size:
            try:
                start = os.lseek(f.fileno(), pos, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            f.seek(start)
            data = f.read(end - start)
            if data.strip(b"\0"):
                out.append((start + len(data) - len(data.lstrip(b"\0")),
                            data.strip(b"\0")))
            pos = end
    return size, out


def next_event(m: manager.Manager, ns: str, kind: str, keys: tuple[str, ...]
               ) -> tuple[str | None, ...]:
    """The leaves `keys` of the next notification `kind` (others before it are skipped)."""
    while True:
        n = m.take_notification(block=True, timeout=10)
        assert n is not None, f"no {kind} arrived"
        env = etree.fromstring(n.notification_xml.encode())
        if etree.QName(env[1]).localname == kind:
            return tuple(env.findtext(f".//{{{ns}}}{k}") for k in keys)
