"""The cost of statistics (issue 21).

    .venv/bin/python tools/bench/stats.py [--sizes 100 1000] [--runs R] [--vms K] [--quick]

1. hvd's own share of one sample and of a <get> of every VM's statistics, in process, for N
   running VMs (one disk, one NIC each), on a host stand-in that answers the sample's commands
   with output of FreeBSD's shape for N guests (ps lines, a netstat JSON row per tap and
   bridge, a pool's dataset kstats): the commands' own run time on FreeBSD (a fork and exec
   each, a fixed handful per sample) is not in it. Prints the commands per sample, the wall
   and CPU p50 of one sample, the CPU of sampling N VMs every 5 s as a share of one core, and
   the p50 of rendering every VM's statistics container (what a <get> adds).
2. A <get> of every VM's statistics through the server's dispatch (config copy, providers,
   NACM, subtree filter, reply bytes), in process, for the same N VMs: a supervisor stand-in
   says they run and the host stand-in of 1 answers the commands.
3. The whole daemon (child process, full wiring as `hvd --backend sim` and `make run` have it,
   sim host): K VMs started (stand-in guests), the p50 of a NETCONF <get> of all their
   statistics over the Unix socket, and the child's CPU share over 10 s while its sampler runs
   (default stats-history, every 5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).parent)]

from child import ChildHvd  # noqa: E402
from lxml import etree  # noqa: E402
from ncclient import manager  # noqa: E402
from ncclient.xml_ import to_ele  # noqa: E402
from support.server import HvdAddress  # noqa: E402,F401 (lowers ncclient TICK)

from hvd_netconf import xmlparse  # noqa: E402
from hvd_netconf.calls import SessionInfo  # noqa: E402
from hvd_netconf.config import Settings  # noqa: E402
from hvd_netconf.daemon import new_server, wire_store  # noqa: E402
from hvd_netconf.host.bhyve import Launch  # noqa: E402
from hvd_netconf.namespaces import BASE, NETWORK, VM, qn  # noqa: E402
from hvd_netconf.stats.collect import Guest, collect  # noqa: E402
from hvd_netconf.stats.sampler import Sampler  # noqa: E402
from hvd_netconf.stats.state import render_vms  # noqa: E402
from hvd_netconf.store import CommitMeta, Datastores  # noqa: E402
from hvd_netconf.supervisor.core import Active  # noqa: E402
from hvd_netconf.wire import messages  # noqa: E402

PERIOD = 5.0


class CannedHost:
    """Answers the sample's commands for n guests, as FreeBSD's tools print them."""

    name = "canned"
    simulated = True

    def __init__(self, n: int) -> None:
        self.ps = "".join(f"{1000 + i:5d}  12:34.56  {524288 + i:7d}  {i % 100}.5\n"
                          for i in range(n))
        rows = [{"name": f"tap{i}", "flags": "0x8943", "mtu": 1500, "network": f"<Link#{i}>",
                 "address": "58:9c:fc:00:00:01", "received-packets": i, "received-errors": 0,
                 "dropped-packets": 0, "received-bytes": i * 1500, "sent-packets": i,
                 "send-errors": 0, "sent-bytes": i * 1400, "collisions": 0}
                for i in range(n)]
        self.netstat = json.dumps({"statistics": {"interface": rows}})
        self.kstats = "".join(
            f"kstat.zfs.zroot.dataset.objset-0x{i:x}.dataset_name: zroot/hv/vm/vm{i}/disks/d0\n"
            f"kstat.zfs.zroot.dataset.objset-0x{i:x}.reads: {i}\n"
            f"kstat.zfs.zroot.dataset.objset-0x{i:x}.writes: {i}\n"
            f"kstat.zfs.zroot.dataset.objset-0x{i:x}.nread: {i * 4096}\n"
            f"kstat.zfs.zroot.dataset.objset-0x{i:x}.nwritten: {i * 4096}\n"
            for i in range(n))
        self.commands = 0

    def run(self, argv: Sequence[str]) -> str:
        self.commands += 1
        if argv[0] == "ps":
            return self.ps
        if argv[0] == "netstat":
            return self.netstat
        if argv[0] == "sysctl":
            return self.kstats
        raise AssertionError(argv)

    def vmm_instances(self) -> set[str]:
        return set()


def in_process(sizes: Sequence[int], runs: int) -> None:
    print("1. hvd's share, in process, FreeBSD-shaped command output (ms)")
    print(f"{'VMs':>6} {'cmds/sample':>11} {'sample wall p50':>15} {'sample CPU p50':>14} "
          f"{'CPU every 5 s':>13} {'render all wall / CPU p50':>25}")
    for n in sizes:
        host = CannedHost(n)
        guests = [Guest(f"vm{i}", 1000 + i, time.time() - 60, 1 << 30, False,
                        {"d0": f"zroot/hv/vm/vm{i}/disks/d0"}, {"nic0": f"tap{i}"})
                  for i in range(n)]
        walls, cpus, renders, render_cpus = [], [], [], []
        for _ in range(runs):
            host.commands = 0
            w0, c0 = time.perf_counter(), time.process_time()
            sample = collect(host, guests)
            walls.append((time.perf_counter() - w0) * 1000)
            cpus.append((time.process_time() - c0) * 1000)
            entries = {}
            vms = etree.Element(qn(VM, "vms"), nsmap={None: VM})
            for g in guests:
                entry = etree.SubElement(vms, qn(VM, "vm"))
                etree.SubElement(entry, qn(VM, "name")).text = g.name
                entries[g.name] = entry
            r0, rc0 = time.perf_counter(), time.process_time()
            render_vms(entries, sample.vms)
            renders.append((time.perf_counter() - r0) * 1000)
            render_cpus.append((time.process_time() - rc0) * 1000)
        cpu = statistics.median(cpus)
        print(f"{n:>6} {host.commands:>11} {statistics.median(walls):>15.2f} {cpu:>14.2f} "
              f"{cpu / 10 / PERIOD:>12.3f}% {statistics.median(renders):>15.2f} / "
              f"{statistics.median(render_cpus):.2f}")


class StubSupervisor:
    """n running VMs as the statistics read them (vm<i>: one disk d0, one NIC nic0 on tap<i>),
    none of them in the life-cycle state provider's view."""

    def __init__(self, n: int) -> None:
        launch = Launch(False, (("bhyve", "-c", "1", "-m", "1024M", "vm"),))
        self.running = {f"vm{i}": Active(1000 + i, time.time() - 60, (f"tap{i}",), launch, 0)
                        for i in range(n)}

    def active(self) -> dict[str, Active]:
        return self.running

    def statuses(self, names: object) -> dict[str, object]:
        return {}

    def bridge_taps(self) -> dict[str, list[str]]:
        return {}


def vm_entry(i: int) -> etree._Element:
    return xmlparse.parse(
        f'<vm xmlns="{VM}"><name>vm{i}</name><disk><name>d0</name><size>1G</size></disk>'
        f"<nic><name>nic0</name><network>lan</network></nic></vm>".encode())


def get_path(sizes: Sequence[int], runs: int) -> None:
    print("\n2. a <get> of every VM's statistics through the server (in process: config, NACM,"
          " filter, reply), host commands answered as in 1, no transport (ms)")
    op = xmlparse.parse(f'<get xmlns="{BASE}"><filter type="subtree"><vms xmlns="{VM}"><vm>'
                        "<statistics/></vm></vms></filter></get>".encode())
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "root"
            root.mkdir()
            ds = Datastores(str(root), fsync=False)
            lan = xmlparse.parse(f'<network xmlns="{NETWORK}"><name>lan</name></network>'
                                 .encode())
            ds.write_running({("network", "lan"): lan,
                              **{("vm", f"vm{i}"): vm_entry(i) for i in range(n)}},
                             CommitMeta(source="copy-config"))
            ds.close()
            server = new_server(Settings(root=root, socket=None, backend="sim"))
            wire_store(server, fsync=False)
            server.host = CannedHost(n)  # type: ignore[assignment]
            server.supervisor = StubSupervisor(n)  # type: ignore[assignment]
            # as the daemon wires it: the sampler's cache of each running VM's disks and NICs
            server.sampler = Sampler(server.host, lambda known: [], [(5, 720)])
            info = SessionInfo(id=1, username="root", transport="hvd-unix", source_host=None,
                               login_time="", uid=0)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                reply = server.dispatch(info, messages.Rpc({"message-id": "1"}, op))
                times.append((time.perf_counter() - t0) * 1000)
            assert reply.count(b"<statistics>") == n, reply[:300]
            server.datastores.close()  # type: ignore[union-attr]
        print(f"{n:>6} VMs: p50 {statistics.median(times):.1f}  "
              f"p99 {sorted(times)[max(0, int(len(times) * 0.99) - 1)]:.1f}  "
              f"({len(reply) // 1024} KiB reply)")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def whole_daemon(count: int, runs: int, window: float) -> None:
    print(f"\n3. the whole daemon (child process, full wiring, sim host), {count} running VMs")
    with tempfile.TemporaryDirectory() as tmp, ChildHvd(Path(tmp), "full") as hvd:
        m = manager.connect_uds(path=hvd.socket, timeout=120)
        vms = "".join(f"<vm><name>vm{i}</name><disk><name>d0</name><size>1G</size></disk>"
                      "<nic><name>nic0</name><network>lan</network></nic></vm>"
                      for i in range(count))
        m.edit_config(target="running", config=to_ele(
            f'<config xmlns="{BASE}"><networks xmlns="{NETWORK}"><network><name>lan</name>'
            f'</network></networks><vms xmlns="{VM}">{vms}</vms></config>'))
        for i in range(count):
            m.dispatch(to_ele(f'<start-vm xmlns="{VM}"><name>vm{i}</name></start-vm>'))
        flt = ("subtree", f'<vms xmlns="{VM}"><vm><statistics/></vm></vms>')
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            reply = m.get(filter=flt)
            times.append((time.perf_counter() - t0) * 1000)
        shown = etree.fromstring(reply.xml.encode()).xpath(
            "//v:statistics", namespaces={"v": VM})
        pid = hvd.proc.pid
        c0, w0 = _cpu_seconds(pid), time.monotonic()
        time.sleep(window)  # a measuring window, not synchronisation
        share = (_cpu_seconds(pid) - c0) / (time.monotonic() - w0) * 100
        print(f"<get> of all statistics p50 {statistics.median(times):.2f} ms, "
              f"p99 {sorted(times)[int(len(times) * 0.99) - 1]:.2f} ms ({len(shown)} VMs shown)")
        tick = 100 / os.sysconf("SC_CLK_TCK") / (time.monotonic() - w0)  # /proc's resolution
        print(f"the idle daemon's CPU over {window:g} s with its sampler: {share:.2f}% of one core "
              f"(measured in clock ticks: {tick:.2f}% resolution)")
        for i in range(count):
            m.dispatch(to_ele(f'<stop-vm xmlns="{VM}"><name>vm{i}</name><force>true</force>'
                              "</stop-vm>"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--vms", type=int, default=10)
    parser.add_argument("--window", type=float, default=10.0,
                        help="seconds the idle daemon's CPU is measured over")
    parser.add_argument("--quick", action="store_true", help="20 runs, 3 VMs")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.vms = 20, 3
    print(f"load average at start: {os.getloadavg()}")
    in_process(args.sizes, args.runs)
    get_path(args.sizes, args.runs)
    whole_daemon(args.vms, args.runs, args.window)
    print(f"load average at end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

