"""`hvd selftest`: prove on this host, in a minute or two, that hvd's backend works.

It runs a separate hvd (a child process with its own root, Unix socket and scratch dataset
POOL/hvd-selftest-XXXXXX, tagged as hvd's) and drives it over NETCONF like a user: a network
and a VM with a zvol and a NIC, the guest booted and seen on its console, a graceful stop, a
stop that escalates, hvd killed and the running guest re-adopted, then everything destroyed.
Cleanup runs whatever failed, each step reported, and ends by checking that nothing of the
self-test is left. On the sim backend the same steps run against the simulated host (and say
so), which is how `make test` exercises this code. Steps and the guest: docs/selftest.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from lxml import etree

from hvd_netconf import __version__, selftest_guest
from hvd_netconf.host import bhyve, ifconfig, names, stats, zfs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.selection import select_backend
from hvd_netconf.hostcheck import check_modules
from hvd_netconf.namespaces import BASE, HVD, NETWORK, VM

DATASET_PREFIX = "hvd-selftest-"
SIM_POOL = "zroot"
N = {"vm": VM, "net": NETWORK}



def vm_state_fields(reply: etree._Element) -> dict[str, Any]:
    """A VM's <state> in a <get> reply as {leaf: text}, its taps as a list under "tap"."""
    state = reply.find(".//vm:vm/vm:state", N)
    out: dict[str, Any] = {"tap": []}
    for leaf in state if state is not None else ():
        key = etree.QName(leaf).localname
        if key == "tap":
            out["tap"].append(leaf.text)
        else:
            out[key] = leaf.text
    return out

class StepFailed(Exception):
    """A step's failure: what went wrong, and the exact command with its stderr if one failed."""

    def __init__(self, detail: str, command: str | None = None, stderr: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.command = command
        self.stderr = stderr


@dataclass
class StepResult:
    step: str
    phase: str  # "test" or "cleanup"
    status: str  # "PASS" or "FAIL"
    seconds: float
    detail: str = ""
    command: str | None = None
    stderr: str | None = None


@dataclass
class Report:
    backend: str
    simulated: bool
    pool: str
    dataset: str
    hvd_version: str = __version__
    host: str = field(default_factory=lambda: " ".join(platform.uname()[:3]))
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    result: str = "FAIL"
    steps: list[StepResult] = field(default_factory=list)
    hvd_log_tail: list[str] = field(default_factory=list)


def run_host(host: Host, argv: tuple[str, ...]) -> str:
    """Run one host command; a failure becomes the step's FAIL with the argv and stderr."""
    try:
        return host.run(argv)
    except CommandFailed as exc:
        raise StepFailed(f"{argv[0]} exited {exc.returncode}", shlex.join(argv),
                         exc.stderr.strip()) from None


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll check until it holds; return the seconds it took, or fail naming what never came."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise StepFailed(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


class SelfTest:
    """One run: the steps in order (stopping at the first FAIL), then every cleanup step."""

    def __init__(self, backend: str, pool: str, *, out: IO[str] = sys.stdout,
                 sim_faults: tuple[tuple[str, str], ...] = (), tmp: Path | None = None) -> None:
        self.out = out
        self.tag = secrets.token_hex(3)
        self.work = Path(tempfile.mkdtemp(prefix=DATASET_PREFIX, dir=tmp))
        self.root = self.work / "root"
        self.root.mkdir()
        self.socket = self.work / "hvd.sock"
        self.log = self.work / "hvd.log"
        self.dataset = f"{pool}/{DATASET_PREFIX}{self.tag}"
        self.vm = f"selftest-{self.tag}"
        self.net = f"st{self.tag}"
        self.bridge = names.bridge_name(self.net)
        self.host = select_backend(backend, self.root)  # type: ignore[arg-type]
        for prefix, stderr in sim_faults:
            self.host.inject_fault(shlex.split(prefix), stderr)  # type: ignore[attr-defined]
        self.real = not self.host.simulated
        self.report = Report(self.host.name, self.host.simulated, pool, self.dataset)
        self.child: subprocess.Popen[bytes] | None = None
        self.nc: Any = None  # the ncclient manager
        self.console: selftest_guest.Console | None = None
        self.created_dataset = False
        self.taps: set[str] = set()
        self.pid: int | None = None
        self.boots = 0

    # -- reporting -----------------------------------------------------------------------

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    def step(self, name: str, fn: Callable[[], str], phase: str = "test") -> bool:
        start = time.monotonic()
        try:
            detail = fn()
            res = StepResult(name, phase, "PASS", 0.0, detail)
        except StepFailed as exc:
            res = StepResult(name, phase, "FAIL", 0.0, exc.detail, exc.command, exc.stderr)
        except Exception as exc:  # a bug or a host surprise: reported, cleanup still runs
            res = StepResult(name, phase, "FAIL", 0.0, f"{type(exc).__name__}: {exc}")
        res.seconds = round(time.monotonic() - start, 2)
        self.report.steps.append(res)
        self.say(f"{res.status}  {name} ({res.seconds:.1f} s){': ' if res.detail else ''}"
                 f"{res.detail}")
        if res.status == "FAIL":
            if res.command:
                self.say(f"      command: {res.command}")
            if res.stderr is not None:
                for line in (res.stderr or "(empty)").splitlines():
                    self.say(f"      stderr: {line}")
        return res.status == "PASS"

    def run(self, json_path: Path | None = None) -> int:
        if self.host.simulated:
            self.say("hvd selftest: the host is SIMULATED (sim backend): nothing real is "
                     "created and no VM really runs")
        self.say(f"hvd selftest on {self.report.host}, backend {self.host.name}, scratch "
                 f"dataset {self.dataset}")
        try:
            for name, fn in self.steps():
                if not self.step(name, fn):
                    break
        finally:
            for name, fn in self.cleanup_steps():
                self.step(name, fn, phase="cleanup")
        ok = all(s.status == "PASS" for s in self.report.steps)
        self.report.result = "PASS" if ok else "FAIL"
        self.say(f"hvd selftest: {self.report.result}")
        if json_path is not None:
            json_path.write_text(json.dumps(asdict(self.report), indent=2) + "\n")
        return 0 if ok else 1

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("prerequisites", self.prerequisites),
            ("create the scratch dataset", self.create_dataset),
            ("start hvd", self.start_hvd),
            ("create a network and a VM (edit-config, commit)", self.create_objects),
            ("prepare a guest that powers off on ACPI", lambda: self.prepare("graceful")),
            ("start the VM; the guest runs", self.start_vm),
            ("the VM's and the host's statistics", self.statistics),
            ("stop the VM gracefully", self.stop_graceful),
            ("prepare a guest that ignores ACPI", lambda: self.prepare("stubborn")),
            ("start the VM again", self.start_vm),
            ("stop the VM with escalation", self.stop_escalating),
            ("start the VM for re-adoption", self.start_vm),
            ("kill hvd (SIGKILL), restart it: the VM is re-adopted", self.readopt),
            ("stop the VM at once (force)", self.stop_forced),
            ("destroy the VM and the network (commit)", self.destroy_objects),
            ("stop hvd (SIGTERM)", self.stop_hvd),
        ]

    def cleanup_steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("cleanup: hvd stopped", self.cleanup_hvd),
            ("cleanup: no guest process", self.cleanup_guest),
            ("cleanup: no /dev/vmm instance", self.cleanup_vmm),
            ("cleanup: no interface", self.cleanup_interfaces),
            ("cleanup: scratch dataset destroyed", self.cleanup_dataset),
            ("cleanup: nothing of the self-test remains", self.check_nothing_left),
        ]

    # -- the steps -----------------------------------------------------------------------

    def prerequisites(self) -> str:
        if not self.real:
            run_host(self.host, ("zfs", "list", "-H", "-o", "name", self.report.pool))
            return "simulated host: no kernel module, file or privilege to check"
        problems: list[str] = []
        if os.geteuid() != 0:
            problems.append("run as root: the self-test creates datasets, interfaces and VMs")
        for finding in check_modules(self.host):
            if not finding.ok:
                fixes = " or ".join(finding.fix)
                problems.append(f"{finding.what} is {finding.detail} (fix: {fixes})")
        problems += [f"{prog} not found in PATH" for prog in ("bhyve", "bhyveload", "makefs")
                     if shutil.which(prog) is None]
        problems += [f"{p} is missing (the guest is built from it)"
                     for p in selftest_guest.missing_files(self.host)]
        if problems:
            raise StepFailed("; ".join(problems))
        run_host(self.host, ("zfs", "list", "-H", "-o", "name", self.report.pool))
        return "root; vmm, nmdm, if_bridge, if_tuntap loaded; pool found"

    def create_dataset(self) -> str:
        run_host(self.host, zfs.create_root(self.dataset, str(self.root)))
        self.created_dataset = True
        owner = run_host(self.host, zfs.owner_check(self.dataset)).strip()
        if owner != zfs.OWNER:
            raise StepFailed(f"{zfs.OWNER_PROP} reads {owner!r}, not {zfs.OWNER!r}",
                             shlex.join(zfs.owner_check(self.dataset)))
        return f"{self.dataset} mounted at {self.root}, {zfs.OWNER_PROP}={owner}"

    def _spawn_hvd(self) -> None:
        conf = self.work / "hvd.toml"
        conf.write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in (
            ("root", str(self.root)), ("socket", str(self.socket)),
            ("backend", self.host.name), ("zfs-parent", self.dataset), ("log-level", "info"))))
        self.socket.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "hvd_netconf.daemon", "--config", str(conf)]
        with open(self.log, "ab") as log:
            self.child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, start_new_session=True)
        child = self.child

        def connected() -> bool:
            if child.poll() is not None:
                raise StepFailed(f"hvd exited with status {child.returncode}",
                                 shlex.join(argv), self.log_tail(20))
            try:
                self.nc = connect(self.socket)
            except Exception:
                return False
            return True

        wait_until(connected, 60, f"hvd to answer on {self.socket}")

    def start_hvd(self) -> str:
        self._spawn_hvd()
        assert self.child is not None
        return f"pid {self.child.pid}, NETCONF session {self.nc.session_id} on {self.socket}"

    def _rpc(self, what: str, xml: str) -> etree._Element:
        """One NETCONF operation; an rpc-error fails the step with the request and the error."""
        from ncclient.operations import RPCError
        from ncclient.xml_ import to_ele

        try:
            reply = self.nc.dispatch(to_ele(xml))
        except RPCError as exc:
            raise StepFailed(f"{what}: the server answered rpc-error", f"NETCONF {xml}",
                             exc.message or str(exc)) from None
        return etree.fromstring(reply.xml.encode())

    def _commit(self, what: str, config: str) -> None:
        self._rpc(what, f'<edit-config xmlns="{BASE}"><target><candidate/></target>'
                        f"<config>{config}</config></edit-config>")
        self._rpc(what, f'<commit xmlns="{BASE}"/>')

    def vm_state(self) -> dict[str, Any]:
        data = self._rpc("read the VM's state", (
            f'<get xmlns="{BASE}"><filter type="subtree"><vms xmlns="{VM}"><vm>'
            f"<name>{self.vm}</name><state/></vm></vms></filter></get>"))
        return vm_state_fields(data)

    def _hvd_interfaces(self) -> set[str]:
        return {i for group in (names.HVD_GROUP, names.PORT_GROUP)
                for i in ifconfig.parse_group(run_host(self.host, ifconfig.list_group(group)))}

    def _zvol(self) -> str:
        return names.disk_dataset(self.dataset, self.vm, "disk0")

    def create_objects(self) -> str:
        stop = 60 if self.real else 10
        self._commit("create the network and the VM", (
            f'<networks xmlns="{NETWORK}"><network><name>{self.net}</name>'
            "<description>hvd selftest: a bridge with no uplink</description></network>"
            f'</networks><vms xmlns="{VM}"><vm><name>{self.vm}</name><memory>256</memory>'
            "<loader><type>bhyveload</type></loader><console>nmdm</console>"
            f"<stop-timeout>{stop}</stop-timeout>"
            "<disk><name>disk0</name><size>512M</size></disk>"
            f"<nic><name>net0</name><network>{self.net}</network></nic></vm></vms>"))
        if self.bridge not in self._hvd_interfaces():
            raise StepFailed(f"bridge {self.bridge} is not in interface group {names.HVD_GROUP}",
                             shlex.join(ifconfig.list_group()))
        listing = zfs.parse_list(run_host(self.host, zfs.list_tree(self.dataset)))
        if listing.get(self._zvol(), None) is None or listing[self._zvol()].type != "volume":
            raise StepFailed(f"no zvol {self._zvol()}", shlex.join(zfs.list_tree(self.dataset)))
        if self.vm_state().get("status") != "stopped":
            raise StepFailed("the new VM is not stopped")
        return f"bridge {self.bridge}, zvol {self._zvol()}, VM {self.vm} stopped"

    def prepare(self, variant: str) -> str:
        """The guest for the next start. On the sim the stand-in's settings say whether it
        heeds the power button; on FreeBSD a boot image is written to the zvol."""
        if not self.real:
            state = self.root / "vm" / self.vm / "state"
            state.mkdir(parents=True, exist_ok=True)
            settings = {"poweroff_delay": 0.2, "ignore_sigterm": variant == "stubborn"}
            (state / "standin.json").write_text(json.dumps(settings))
            return f"simulated guest: {settings}"
        tree = selftest_guest.stage_tree(self.host, self.work, variant)
        image = self.work / f"guest-{variant}.ufs"
        run_host(self.host, selftest_guest.makefs(image, tree))
        shutil.rmtree(tree)
        device = names.zvol_device(self._zvol())
        wait_until(lambda: os.path.exists(device), 30, f"{device} to appear")
        selftest_guest.write_image(image, device)
        size = image.stat().st_size
        image.unlink()
        return f"{size >> 20} MiB UFS image with the host's kernel written to {device}"

    def _guest_ran(self) -> tuple[bool, str]:
        """Has the guest of the current boot shown that it runs? On FreeBSD: the kernel's
        banner on the console; on the sim: the stand-in's `guest running` line."""
        if self.real:
            assert self.console is not None
            text = self.console.text()
            for line in text.splitlines():
                if selftest_guest.BANNER in line:
                    return True, line.strip()
            return False, ""
        log = self.root / "vm" / self.vm / "state" / "bhyve.log"
        lines = [x for x in (log.read_text().splitlines() if log.exists() else [])
                 if ": guest running" in x]
        return len(lines) >= self.boots, lines[-1] if lines else ""

    def start_vm(self) -> str:
        if self.real and self.console is None:
            self.console = selftest_guest.Console(names.console_user_side(self.vm))
        if self.console is not None:
            self.console.clear()
        self.boots += 1
        self._rpc("start-vm", f'<start-vm xmlns="{VM}"><name>{self.vm}</name></start-vm>')
        took = wait_until(lambda: self._guest_ran()[0], 120 if self.real else 30,
                          "the guest's console to show it runs")
        state = self.vm_state()
        if state.get("status") != "running":
            raise StepFailed(f"status is {state.get('status')}, not running")
        self.pid = int(state["pid"])
        self.taps |= set(state["tap"])
        return (f"pid {self.pid}, tap {','.join(state['tap'])}; console after {took:.1f} s: "
                f"{self._guest_ran()[1]!r}")

    def statistics(self) -> str:
        """The statistics as a client reads them: the running VM's CPU time, memory and tap
        counters, and the host's memory and pools, so each source's output (ps, netstat's
        libxo fields, zpool list, sysctl) is read on this host (docs/statistics.md). Disk
        counters are only reported: whether OpenZFS' kstats cover a zvol is what this shows."""
        data = self._rpc("read the statistics", (
            f'<get xmlns="{BASE}"><filter type="subtree"><vms xmlns="{VM}"><vm>'
            f"<name>{self.vm}</name><statistics/></vm></vms>"
            f'<host xmlns="{HVD}"><statistics/></host></filter></get>'))
        st = data.find(f".//{{{VM}}}statistics")
        if st is None or not st.findtext(f"{{{VM}}}cpu-time") \
                or int(st.findtext(f"{{{VM}}}resident-memory") or 0) == 0:
            raise StepFailed("the running VM has no CPU time or resident memory",
                             shlex.join(stats.ps_usage([self.pid or 0])))
        nic = st.find(f"{{{VM}}}nic")
        if nic is None or nic.findtext(f"{{{VM}}}in-octets") is None:
            raise StepFailed("no counters for the VM's tap", shlex.join(stats.netstat_interfaces()))
        host = data.find(f".//{{{HVD}}}statistics")
        pools = [] if host is None else host.findall(f"{{{HVD}}}pool")
        if host is None or not host.findtext(f"{{{HVD}}}physical-memory") or not pools:
            raise StepFailed("no host memory or pool figures",
                             f"{shlex.join(stats.sysctl_host())}; {shlex.join(stats.zpool_list())}")
        disk = st.find(f"{{{VM}}}disk")
        disks = ("disk counters: " + ", ".join(f"{c.tag.rpartition('}')[2]} {c.text}"
                                                for c in disk if c.tag.endswith("octets"))
                 if disk is not None else "no disk counters (no dataset kstats for the zvol)")
        return (f"cpu-time {st.findtext(f'{{{VM}}}cpu-time')} ms, resident "
                f"{st.findtext(f'{{{VM}}}resident-memory')} B, tap {nic.findtext(f'{{{VM}}}tap')}"
                f" in {nic.findtext(f'{{{VM}}}in-octets')} B; {disks}; host "
                f"{host.findtext(f'{{{HVD}}}physical-memory')} B, {len(pools)} pool(s)")

    def _forced_lines(self) -> int:
        needle = f"VM {self.vm}: bhyvectl --force-poweroff"
        return self.log.read_text(errors="replace").count(needle) if self.log.exists() else 0

    def _stop(self, what: str, extra: str, expect_forced: bool) -> str:
        forced_before = self._forced_lines()
        start = time.monotonic()
        self._rpc(what, f'<stop-vm xmlns="{VM}"><name>{self.vm}</name>{extra}</stop-vm>')
        took = time.monotonic() - start
        state = self.vm_state()
        if state.get("status") != "stopped":
            raise StepFailed(f"status is {state.get('status')} after stop-vm returned")
        forced = self._forced_lines() > forced_before
        if forced != expect_forced:
            raise StepFailed(f"hvd {'did' if forced else 'did not'} run bhyvectl "
                             f"--force-poweroff (hvd log), expected the opposite")
        return (f"stopped in {took:.1f} s, exit code {state.get('last-exit-code')}: "
                f"{state.get('last-exit-reason')}")

    def stop_graceful(self) -> str:
        detail = self._stop("stop-vm", "", expect_forced=False)
        if self.vm_state().get("last-exit-code") != "1":
            raise StepFailed(f"the guest did not power off by itself: {detail}")
        return detail

    def stop_escalating(self) -> str:
        timeout = 3 if self.real else 1
        detail = self._stop("stop-vm with a timeout", f"<timeout>{timeout}</timeout>",
                            expect_forced=True)
        return f"power button ignored for {timeout} s, then forced; {detail}"

    def stop_forced(self) -> str:
        return self._stop("stop-vm force", "<force>true</force>", expect_forced=True)

    def readopt(self) -> str:
        assert self.child is not None and self.pid is not None
        killed = self.child.pid
        self._drop_session()
        self.child.kill()
        self.child.wait(30)
        if not self.host.process_matches(self.pid, self.vm):
            raise StepFailed(f"the guest (pid {self.pid}) died with hvd")
        self._spawn_hvd()
        state = self.vm_state()
        if state.get("status") != "running" or state.get("pid") != str(self.pid):
            raise StepFailed(f"after the restart the VM is {state.get('status')} with pid "
                             f"{state.get('pid')}, not running with pid {self.pid}")
        return (f"hvd {killed} killed, hvd {self.child.pid} adopted the guest (pid "
                f"{self.pid}): {state.get('last-exit-reason') or 'running'}")

    def destroy_objects(self) -> str:
        self._commit("delete the VM and the network", (
            f'<networks xmlns="{NETWORK}"><network xmlns:nc="{BASE}" nc:operation="delete">'
            f"<name>{self.net}</name></network></networks>"
            f'<vms xmlns="{VM}"><vm xmlns:nc="{BASE}" nc:operation="delete">'
            f"<name>{self.vm}</name></vm></vms>"))
        left = sorted(zfs.parse_list(run_host(self.host, zfs.list_tree(self.dataset))))
        if left != sorted([self.dataset, names.vms_dataset(self.dataset)]):
            raise StepFailed(f"datasets left: {', '.join(left)}",
                             shlex.join(zfs.list_tree(self.dataset)))
        ours = self._hvd_interfaces() & ({self.bridge} | self.taps)
        if ours:
            raise StepFailed(f"interfaces left: {', '.join(sorted(ours))}")
        if self.vm in self.host.vmm_instances():
            raise StepFailed(f"/dev/vmm/{self.vm} is left")
        return "no zvol, no bridge, no tap, no /dev/vmm instance"

    def stop_hvd(self) -> str:
        assert self.child is not None
        self._drop_session()
        self.child.terminate()
        code = self.child.wait(120)
        if code != 0:
            raise StepFailed(f"hvd exited with status {code}", None, self.log_tail(20))
        return "exit status 0"

    # -- cleanup -------------------------------------------------------------------------

    def _drop_session(self) -> None:
        if self.nc is not None:
            with contextlib.suppress(Exception):
                self.nc.close_session()
            self.nc = None

    def cleanup_hvd(self) -> str:
        if self.child is None or self.child.poll() is not None:
            return "was not running"
        self._drop_session()
        self.child.terminate()
        try:
            return f"SIGTERM: exit status {self.child.wait(180)}"
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait(30)
            raise StepFailed("hvd did not stop within 180 s of SIGTERM; killed it") from None

    def cleanup_guest(self) -> str:
        if self.console is not None:
            self.console.close()
            self.console = None
        if self.pid is None or not self.host.process_matches(self.pid, self.vm):
            return "none running"
        os.kill(self.pid, signal.SIGKILL)
        wait_until(lambda: not self.host.process_matches(self.pid or 0, self.vm), 30,
                   f"guest pid {self.pid} to die")
        return f"killed leftover guest pid {self.pid}"

    def cleanup_vmm(self) -> str:
        if self.vm not in self.host.vmm_instances():
            return "none"
        run_host(self.host, bhyve.destroy(self.vm))
        return f"destroyed /dev/vmm/{self.vm}"

    def cleanup_interfaces(self) -> str:
        ours = sorted(self._hvd_interfaces() & ({self.bridge} | self.taps))
        for name in ours:
            run_host(self.host, ifconfig.destroy(name))
        return f"destroyed {', '.join(ours)}" if ours else "none"

    def cleanup_dataset(self) -> str:
        if not self.created_dataset:
            return "was not created"
        owner = run_host(self.host, zfs.owner_check(self.dataset)).strip()
        if owner != zfs.OWNER:
            raise StepFailed(f"{self.dataset} is not tagged {zfs.OWNER_PROP}={zfs.OWNER}; "
                             "left alone", shlex.join(zfs.owner_check(self.dataset)))
        run_host(self.host, zfs.destroy(self.dataset, recursive=True))
        return shlex.join(zfs.destroy(self.dataset, recursive=True))

    def check_nothing_left(self) -> str:
        left: list[str] = []
        mounted = False
        argv = ("zfs", "list", "-H", "-o", "name", self.dataset)
        try:
            self.host.run(argv)
            left.append(f"dataset {self.dataset} (`{shlex.join(argv)}` lists it)")
            mounted = self.real
        except CommandFailed as exc:
            if "does not exist" not in exc.stderr:
                raise StepFailed("cannot tell whether the dataset is gone", shlex.join(argv),
                                 exc.stderr.strip()) from None
        ours = self._hvd_interfaces() & ({self.bridge} | self.taps)
        left += [f"interface {i}" for i in sorted(ours)]
        if self.vm in self.host.vmm_instances():
            left.append(f"/dev/vmm/{self.vm}")
        self.report.hvd_log_tail = self.log_tail(60).splitlines()
        if not mounted:  # never delete files inside a dataset that is still there
            shutil.rmtree(self.work, ignore_errors=True)
        if self.work.exists():
            left.append(f"directory {self.work}")
        if left:
            raise StepFailed("left behind: " + "; ".join(left))
        checked = ["zfs list", f"ifconfig -g {names.HVD_GROUP}/{names.PORT_GROUP}", "/dev/vmm",
                   str(self.work)]
        return "checked " + ", ".join(checked)

    def log_tail(self, lines: int) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def connect(socket_path: Path) -> Any:
    """An ncclient session over hvd's Unix socket, as any NETCONF client would open it."""
    from ncclient import manager

    return manager.connect_uds(path=str(socket_path), timeout=300)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("selftest", help="prove that hvd works on this host, leaving nothing")
    p.add_argument("pool", nargs="?",
                   help="ZFS pool for the scratch dataset POOL/hvd-selftest-XXXXXX "
                        f"(required on FreeBSD; the sim has {SIM_POOL})")
    p.add_argument("--backend", dest="selftest_backend", choices=("auto", "freebsd", "sim"),
                   default="auto", help="auto: freebsd on FreeBSD, sim elsewhere")
    p.add_argument("--json", dest="selftest_json", metavar="FILE",
                   help="also write the report as JSON, to attach to a bug report")
    p.add_argument("--sim-fault", nargs=2, action="append", default=[],
                   metavar=("COMMAND", "STDERR"),
                   help="sim only: the first host command starting with COMMAND fails with "
                        "STDERR (to test the self-test itself)")


def resolve_backend(name: str) -> str:
    if name == "auto":
        return "freebsd" if sys.platform.startswith("freebsd") else "sim"
    return name


def main(args: argparse.Namespace) -> int:
    backend = resolve_backend(args.selftest_backend)
    pool = args.pool
    if backend == "freebsd" and not pool:
        print("hvd selftest: name a ZFS pool, e.g. `hvd selftest zroot`; the self-test "
              "creates POOL/hvd-selftest-XXXXXX there and destroys it at the end",
              file=sys.stderr)
        return 2
    if backend != "sim" and args.sim_fault:
        print("hvd selftest: --sim-fault works only on the sim backend", file=sys.stderr)
        return 2
    test = SelfTest(backend, pool or SIM_POOL,
                    sim_faults=tuple((c, e) for c, e in args.sim_fault))
    return test.run(Path(args.selftest_json) if args.selftest_json else None)

