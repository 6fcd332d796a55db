"""The whole daemon's figures (issue 4, issue 25): bulk create + commit, one-leaf edit + commit,
get-config and memory, for 100, 1,000 and 10,000 VMs.

hvd runs in a child process (tools/bench/child.py), as a real server does. By default it is
wired as `hvd --backend sim` (what `make run` starts) wires it: NACM, the sim host apply and
the VM supervisor, fsync on (wiring `full`); the output names the wiring measured. For each
size:

- one edit-config creating all N VMs plus its commit (ncclient, TICK lowered to 0.001);
  "host apply" is that commit's time minus the same commit's on the `store` wiring (no
  host, no NACM, no supervisor), measured in a second child unless `--no-share`;
- `--reads` get-config of everything, sent by a raw client (frames bytes, parses nothing)
  one after the other starting the moment the bulk commit's reply arrives: p50 and p99 show
  whether work left after that reply (the entry files, gc) stalls readers;
- `--cycles` one-leaf edit + commit rounds, p50/p99, once every entry file is on disk,
  each followed by a lock + unlock of the candidate (two trivial RPCs: the least any
  edit + commit can cost through ncclient at that moment, column "floor");
- small get-config (a subtree filter selecting one VM) and get-config of everything,
  p50/p99 (ncclient, which parses the reply: about 30 ms for 10,000 VMs);
- the child's resident memory (VmRSS and its peak VmHWM from /proc).

`--wiring store store-nofsync` measures the configuration side alone (fsync on and off).

    .venv/bin/python tools/bench/commit.py [--sizes 100 1000 10000] [--cycles 100]
                                           [--reads 200] [--wiring full store store-nofsync]
                                           [--no-share] [--quick] [--disks K] [--nics K]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).parent)]

import support.server  # noqa: E402, F401 (importing it lowers ncclient's TICK)
from child import MODES, ChildHvd  # noqa: E402
from ncclient import manager  # noqa: E402
from support.rawclient import RawClient, errors, is_ok  # noqa: E402

from hvd_netconf.namespaces import BASE, NETWORK, VM  # noqa: E402

WIRING = {"full": "whole daemon (hvd --backend sim: NACM, sim host apply, supervisor)",
          "store": "store only (datastores, transactions; fsync on)",
          "store-nofsync": "store only, fsync off"}
GET_ALL = "<get-config><source><running/></source></get-config>"


SHAPE = {"disks": 0, "nics": 0}  # per VM, set by --disks and --nics


def create_all(n: int) -> str:
    """n VMs, each with SHAPE's disks (1G zvols) and NICs (on one network, created too)."""
    parts = "".join(f"<disk><name>d{k}</name><size>1G</size></disk>"
                    for k in range(SHAPE["disks"]))
    parts += "".join(f"<nic><name>n{k}</name><network>lan</network></nic>"
                     for k in range(SHAPE["nics"]))
    vms = "".join(f"<vm><name>vm{i}</name><cpu>1</cpu><memory>512</memory>{parts}</vm>"
                  for i in range(n))
    net = (f'<networks xmlns="{NETWORK}"><network><name>lan</name></network></networks>'
           if SHAPE["nics"] else "")
    return f'<config xmlns="{BASE}">{net}<vms xmlns="{VM}">{vms}</vms></config>'


def one_leaf(i: int) -> str:
    return (f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>vm0</name>'
            f"<cpu>{1 + i % 2 + 1}</cpu></vm></vms></config>")


def raw_one_leaf(i: int) -> str:
    """one_leaf(i) as the operation of a raw <rpc>."""
    return f"<edit-config><target><candidate/></target>{one_leaf(i)}</edit-config>"


ONE_VM = f'<vms xmlns="{VM}"><vm><name>vm0</name></vm></vms>'


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def timed(fn: Callable[[int], object], runs: int) -> list[float]:
    out = []
    for i in range(runs):
        s = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - s)
    return out


def wait_on_disk(directory: Path, n: int) -> None:
    """A big commit's files are written in the background: the one-leaf cycles are measured
    once all n are on disk (steady state)."""
    entries = directory / "root" / "vm"
    while sum(1 for _ in entries.glob("*/config.xml")) < n:
        time.sleep(0.05)


def raw_rpc(c: RawClient, op: str) -> None:
    r = c.rpc(op)
    if not is_ok(r):
        raise RuntimeError(errors(r))


def raw_read(c: RawClient) -> None:
    """get-config of everything; the reply's bytes only (the server's share)."""
    c.send_message(f'<rpc xmlns="{BASE}" message-id="1">{GET_ALL}</rpc>'.encode())
    if b"<rpc-error" in c.read_message():
        raise RuntimeError("get-config failed")


def memory_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB, from /proc/PID/status."""
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def bulk_commit(n: int, wiring: str) -> float:
    """Only the bulk create's commit time (for the host-apply share)."""
    with tempfile.TemporaryDirectory() as tmp, ChildHvd(Path(tmp), wiring) as hvd, \
            manager.connect_uds(path=hvd.socket, timeout=600) as m:
        m.edit_config(create_all(n), target="candidate")
        t = time.perf_counter()
        m.commit()
        return time.perf_counter() - t


def run(n: int, cycles: int, reads: int, wiring: str) -> dict[str, float]:
    r: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, ChildHvd(Path(tmp), wiring) as hvd:
        with manager.connect_uds(path=hvd.socket, timeout=600) as m, \
                RawClient.unix(hvd.socket, 600) as c:
            c.hello("1.1")
            t0 = time.perf_counter()
            m.edit_config(create_all(n), target="candidate")
            t1 = time.perf_counter()
            m.commit()
            t2 = time.perf_counter()
            after = timed(lambda _i: raw_read(c), reads)
            wait_on_disk(Path(tmp), n)
            t3 = time.perf_counter()
            r.update(create_edit=t1 - t0, create_commit=t2 - t1, on_disk=t3 - t1,
                     after50=statistics.median(after), after99=pct(after, 99))
            lat, floor = [], []
            for i in range(cycles):
                lat += timed(lambda i: (m.edit_config(one_leaf(i), target="candidate"),
                                        m.commit()), 1)
                floor += timed(lambda _i: (m.lock("candidate"), m.unlock("candidate")), 1)
            small = timed(lambda _i: m.get_config("running", filter=("subtree", ONE_VM)),
                          cycles)
            full = timed(lambda _i: m.get_config("running"), max(10, cycles // 2))
            raw = timed(lambda i: (raw_rpc(c, raw_one_leaf(i + 1)), raw_rpc(c, "<commit/>")),
                        cycles)
        rss, hwm = memory_kib(hvd.proc.pid)
    r.update(p50=statistics.median(lat), p99=pct(lat, 99), floor=statistics.median(floor),
             raw50=statistics.median(raw), raw99=pct(raw, 99),
             small50=statistics.median(small), small99=pct(small, 99),
             full50=statistics.median(full), full99=pct(full, 99), rss=rss, hwm=hwm)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--reads", type=int, default=200)
    ap.add_argument("--wiring", nargs="+", choices=MODES, default=["full"])
    ap.add_argument("--no-share", action="store_true",
                    help="skip the store-wiring commit that the host-apply share needs")
    ap.add_argument("--quick", action="store_true",
                    help="100 and 1,000 VMs, 30 cycles, 50 reads")
    ap.add_argument("--disks", type=int, default=0, help="disks (1G zvols) per VM")
    ap.add_argument("--nics", type=int, default=0, help="NICs per VM, on one network")
    args = ap.parse_args()
    SHAPE.update(disks=args.disks, nics=args.nics)
    if args.quick:
        args.sizes, args.cycles, args.reads = [100, 1000], 30, 50
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs); "
          "times in ms, memory in MiB")
    for wiring in args.wiring:
        print(f"wiring {wiring}: {WIRING[wiring]}")
    print(f"each VM: {args.disks} disk(s), {args.nics} NIC(s)")
    print(f"{'VMs':>6} {'wiring':>13} {'create edit':>11} {'commit':>8} {'host apply':>10} "
          f"{'on disk':>8} {'read-after p50':>14} {'p99':>6} {'1-leaf p50':>10} {'p99':>6} "
          f"{'floor':>6} {'raw p50':>7} {'raw p99':>7} {'small get p50':>13} {'p99':>6} "
          f"{'full get p50':>12} {'p99':>6} {'RSS':>5} {'peak':>5}")
    for n in args.sizes:
        for wiring in args.wiring:
            r = run(n, args.cycles, args.reads, wiring)
            share = "-" if args.no_share or wiring != "full" else \
                f"{(r['create_commit'] - bulk_commit(n, 'store')) * 1e3:.1f}"
            ms = {k: v * 1e3 for k, v in r.items()}
            print(f"{n:>6} {wiring:>13} {ms['create_edit']:>11.1f} {ms['create_commit']:>8.1f} "
                  f"{share:>10} {ms['on_disk']:>8.1f} {ms['after50']:>14.2f} "
                  f"{ms['after99']:>6.2f} {ms['p50']:>10.2f} {ms['p99']:>6.2f} "
                  f"{ms['floor']:>6.2f} {ms['raw50']:>7.2f} {ms['raw99']:>7.2f} "
                  f"{ms['small50']:>13.2f} {ms['small99']:>6.2f} {ms['full50']:>12.2f} "
                  f"{ms['full99']:>6.2f} {r['rss'] / 1024:>5.0f} {r['hwm'] / 1024:>5.0f}",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
