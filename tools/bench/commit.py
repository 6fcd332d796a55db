"""edit-config + commit latency over the Unix socket with ncclient (TICK lowered).

For datastores of 100, 1,000 and 10,000 VMs: one edit-config creating all of them plus its
commit, then `--cycles` one-leaf edit + commit rounds (p50/p99). Run with and without fsync to
see how much of the latency is the disk: `python tools/bench/commit.py [--no-fsync]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests")]

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
        server.datastores = Datastores(str(server.settings.root), server.schema, fsync=fsync)
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


def run(n: int, cycles: int, fsync: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        inst = start_hvd(Path(tmp), attach_with(fsync), ssh=False)
        try:
            with inst.connect_uds() as m:
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
        finally:
            inst.stop()
    return {"create_edit": t1 - t0, "create_commit": t2 - t1, "p50": statistics.median(lat),
            "p99": pct(lat, 99)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--no-fsync", action="store_true")
    args = ap.parse_args()
    fsync = not args.no_fsync
    print(f"fsync={'on' if fsync else 'off'}; times in ms")
    print(f"{'VMs':>6} {'create edit':>12} {'create commit':>14} {'1-leaf p50':>11} "
          f"{'1-leaf p99':>11}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = run(n, args.cycles, fsync)
        print(f"{n:>6} {r['create_edit'] * 1e3:>12.1f} {r['create_commit'] * 1e3:>14.1f} "
              f"{r['p50'] * 1e3:>11.2f} {r['p99'] * 1e3:>11.2f}")


if __name__ == "__main__":
    main()
