"""Per-RPC latency through hvd's wire path with ncclient (TICK lowered) and a raw client.

    .venv/bin/python tools/bench/rpc.py [--count N] [--op get-config|lock] [--ssh]

Starts an in-process hvd under a temporary root and reports p50/p99 in milliseconds. `--op
get-config` needs the retrieval operation registered; `lock` measures the bare wire path.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))

from support.rawclient import is_ok
from support.server import start_hvd

RAW_OPS = {
    "lock": "<lock><target><running/></target></lock>",
    "get-config": "<get-config><source><running/></source></get-config>",
}


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000


def report(name: str, samples: list[float]) -> None:
    print(f"{name:<34} n={len(samples):<6} p50 {pct(samples, 0.5):6.3f} ms  "
          f"p99 {pct(samples, 0.99):6.3f} ms  mean {statistics.fmean(samples) * 1000:6.3f} ms")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--op", choices=sorted(RAW_OPS), default="lock")
    ap.add_argument("--ssh", action="store_true", help="also measure ncclient over SSH")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        inst = start_hvd(Path(tmp), ssh=args.ssh)
        try:
            def call(m):  # type: ignore[no-untyped-def]
                if args.op == "lock":
                    m.lock("running")
                    m.unlock("running")
                else:
                    m.get_config("running")

            clients = [("ncclient unix", inst.connect_uds())]
            if args.ssh:
                clients.append(("ncclient ssh", inst.connect_ssh()))
            for name, m in clients:
                for _ in range(50):
                    call(m)
                samples = []
                for _ in range(args.count):
                    t0 = time.perf_counter()
                    call(m)
                    samples.append(time.perf_counter() - t0)
                per = 2 if args.op == "lock" else 1
                report(f"{name} {args.op}", [s / per for s in samples])
            with inst.raw() as c:
                c.hello("1.1")
                op = RAW_OPS[args.op]
                unlock = "<unlock><target><running/></target></unlock>"
                samples = []
                for i in range(args.count):
                    t0 = time.perf_counter()
                    reply = c.rpc(op, str(i))
                    samples.append(time.perf_counter() - t0)
                    if args.op == "lock":
                        assert is_ok(reply), reply
                        c.rpc(unlock, "u")
                report(f"raw unix {args.op}", samples)
        finally:
            inst.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
