"""edit-config + commit latency over the Unix socket (issue 4), with ncclient and a raw client.

For datastores of 100, 1,000 and 10,000 VMs: one edit-config creating all of them plus its
commit, then `--cycles` one-leaf edit + commit rounds (p50/p99), each measured with ncclient
(TICK lowered to 0.001) and with a raw client that only frames bytes (the server's share).
By default each size runs twice, fsync on and fsync off: the difference is what the disk's
flushes cost. `--full` uses the daemon's whole wiring (NACM, sim host apply, supervisor;
fsync always on) instead of the store-level wiring.

    .venv/bin/python tools/bench/commit.py [--sizes 100 1000 10000] [--cycles 100]
                                           [--fsync on off] [--full]
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
sys.path[:0] = [str(_REPO), str(_REPO / "tests")]

from support.rawclient import errors, is_ok  # noqa: E402
from support.server import start_hvd  # noqa: E402 (lowers ncclient TICK)

from hvd_netconf import notify  # noqa: E402
from hvd_netconf.namespaces import BASE, VM  # noqa: E402
from hvd_netconf.ops import transactions as tx  # noqa: E402
from hvd_netconf.schema import load_schema  # noqa: E402
from hvd_netconf.store import Datastores  # noqa: E402


def attach_with(fsync: bool):
    def attach(server) -> None:
        from hvd_netconf import ops

        ops.load_all()
        server.schema = load_schema()
        server.datastores = Datastores(str(server.settings.root), server.schema, fsync=fsync,
                                       lock=server.lock)
        notify.attach(server)
        tx.attach(server)
    return attach


def create_all(n: int) -> str:
    vms = "".join(f"<vm><name>vm{i}</name><cpu>1</cpu><memory>512</memory></vm>"
                  for i in range(n))
    return f'<config xmlns="{BASE}"><vms xmlns="{VM}">{vms}</vms></config>'


def one_leaf(i: int) -> str:
    return (f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>vm0</name>'
            f"<cpu>{1 + i % 2 + 1}</cpu></vm></vms></config>")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def raw_rpc(c, op: str) -> None:  # type: ignore[no-untyped-def]
    r = c.rpc(op)
    if not is_ok(r):
        raise RuntimeError(errors(r))


def run(n: int, cycles: int, fsync: bool, full: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        inst = start_hvd(Path(tmp), None if full else attach_with(fsync), ssh=False)
        try:
            with inst.connect_uds(timeout=600) as m:
                t0 = time.perf_counter()
                m.edit_config(create_all(n), target="candidate")
                t1 = time.perf_counter()
                m.commit()
                t2 = time.perf_counter()
                lat = []
                for i in range(cycles):
                    s = time.perf_counter()
                    m.edit_config(one_leaf(i), target="candidate")
                    m.commit()
                    lat.append(time.perf_counter() - s)
            with inst.raw(timeout=600) as c:
                c.hello("1.1")
                raw = []
                for i in range(cycles):
                    s = time.perf_counter()
                    raw_rpc(c, "<edit-config><target><candidate/></target>"
                               f"{one_leaf(i + 1)}</edit-config>")
                    raw_rpc(c, "<commit/>")
                    raw.append(time.perf_counter() - s)
        finally:
            inst.stop()
    return {"create_edit": t1 - t0, "create_commit": t2 - t1, "p50": statistics.median(lat),
            "p99": pct(lat, 99), "raw50": statistics.median(raw), "raw99": pct(raw, 99)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--fsync", nargs="+", choices=["on", "off"], default=["on", "off"])
    ap.add_argument("--full", action="store_true", help="the daemon's wiring (fsync on)")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine); times in ms")
    print(f"{'VMs':>6} {'fsync':>5} {'create edit':>12} {'create commit':>14} "
          f"{'1-leaf p50':>11} {'p99':>7} {'raw p50':>8} {'raw p99':>8}")
    for n in args.sizes:
        for mode in (["on"] if args.full else args.fsync):
            r = run(n, args.cycles, mode == "on", args.full)
            print(f"{n:>6} {mode:>5} {r['create_edit'] * 1e3:>12.1f} "
                  f"{r['create_commit'] * 1e3:>14.1f} {r['p50'] * 1e3:>11.2f} "
                  f"{r['p99'] * 1e3:>7.2f} {r['raw50'] * 1e3:>8.2f} {r['raw99'] * 1e3:>8.2f}",
                  flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
