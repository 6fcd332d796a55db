"""edit-config + commit latency over the Unix socket (issue 4), with ncclient and a raw client.

hvd runs in a child process (tools/bench/child.py), as a real server does. For datastores
of 100, 1,000 and 10,000 VMs: one edit-config creating all of them plus its commit, then
`--cycles` one-leaf edit + commit rounds (p50/p99), each measured with ncclient (TICK
lowered to 0.001) and with a raw client that only frames bytes (the server's share). Each
ncclient round is followed by a lock + unlock of the candidate: two trivial RPCs, the least
any edit + commit can cost through ncclient at that moment (its p50 is printed). The
cycles start once every entry file of the create is on disk ("files on disk": from the
commit's request until then; big commits write them in the background).
`--wiring`: `store` (datastores and transactions, fsync on), `store-nofsync` (the same with
fsync off: the difference is what the disk's flushes cost) and `full` (the daemon's whole
wiring: NACM, sim host apply, supervisor; fsync on). Default: store and store-nofsync.

    .venv/bin/python tools/bench/commit.py [--sizes 100 1000 10000] [--cycles 100]
                                           [--wiring store store-nofsync full]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).parent)]

import support.server  # noqa: E402, F401 (importing it lowers ncclient's TICK)
from child import MODES, ChildHvd  # noqa: E402
from ncclient import manager  # noqa: E402
from support.rawclient import RawClient, errors, is_ok  # noqa: E402

from hvd_netconf.namespaces import BASE, VM  # noqa: E402


def create_all(n: int) -> str:
    vms = "".join(f"<vm><name>vm{i}</name><cpu>1</cpu><memory>512</memory></vm>"
                  for i in range(n))
    return f'<config xmlns="{BASE}"><vms xmlns="{VM}">{vms}</vms></config>'


def one_leaf(i: int) -> str:
    return (f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>vm0</name>'
            f"<cpu>{1 + i % 2 + 1}</cpu></vm></vms></config>")


def raw_one_leaf(i: int) -> str:
    """one_leaf(i) as the operation of a raw <rpc>."""
    return f"<edit-config><target><candidate/></target>{one_leaf(i)}</edit-config>"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def wait_on_disk(directory: Path, n: int) -> None:
    """A big commit's files are written in the background: the one-leaf cycles are measured
    once all n are on disk (steady state)."""
    entries = directory / "root" / "vm"
    while sum(1 for _ in entries.glob("*/config.xml")) < n:
        time.sleep(0.05)


def raw_rpc(c, op: str) -> None:  # type: ignore[no-untyped-def]
    r = c.rpc(op)
    if not is_ok(r):
        raise RuntimeError(errors(r))


def run(n: int, cycles: int, wiring: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, ChildHvd(Path(tmp), wiring) as hvd:
        with manager.connect_uds(path=hvd.socket, timeout=600) as m:
            t0 = time.perf_counter()
            m.edit_config(create_all(n), target="candidate")
            t1 = time.perf_counter()
            m.commit()
            t2 = time.perf_counter()
            wait_on_disk(Path(tmp), n)
            t3 = time.perf_counter()
            lat, floor = [], []
            for i in range(cycles):
                s = time.perf_counter()
                m.edit_config(one_leaf(i), target="candidate")
                m.commit()
                lat.append(time.perf_counter() - s)
                s = time.perf_counter()
                m.lock("candidate")
                m.unlock("candidate")
                floor.append(time.perf_counter() - s)
        with RawClient.unix(hvd.socket, 600) as c:
            c.hello("1.1")
            raw = []
            for i in range(cycles):
                s = time.perf_counter()
                raw_rpc(c, raw_one_leaf(i + 1))
                raw_rpc(c, "<commit/>")
                raw.append(time.perf_counter() - s)
    return {"create_edit": t1 - t0, "create_commit": t2 - t1, "on_disk": t3 - t1,
            "p50": statistics.median(lat),
            "p99": pct(lat, 99), "floor": statistics.median(floor),
            "raw50": statistics.median(raw), "raw99": pct(raw, 99)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--wiring", nargs="+", choices=MODES, default=["store", "store-nofsync"])
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine); times in ms")
    print(f"{'VMs':>6} {'wiring':>13} {'create edit':>12} {'create commit':>14} "
          f"{'files on disk':>14} {'1-leaf p50':>11} {'p99':>7} {'lock+unlock':>12} "
          f"{'raw p50':>8} {'raw p99':>8}")
    for n in args.sizes:
        for wiring in args.wiring:
            r = run(n, args.cycles, wiring)
            print(f"{n:>6} {wiring:>13} {r['create_edit'] * 1e3:>12.1f} "
                  f"{r['create_commit'] * 1e3:>14.1f} {r['on_disk'] * 1e3:>14.1f} "
                  f"{r['p50'] * 1e3:>11.2f} "
                  f"{r['p99'] * 1e3:>7.2f} {r['floor'] * 1e3:>12.2f} "
                  f"{r['raw50'] * 1e3:>8.2f} {r['raw99'] * 1e3:>8.2f}",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
