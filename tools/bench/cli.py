"""Wall time of one-shot `hv list vm` and `hv show vm NAME` against a fresh hvd (sim backend).

Starts hvd in this process under a temporary root with the whole daemon's wiring
(`wire_components`, as `hvd --backend sim` runs: NACM, sim host apply, supervisor), creates N
VMs with one edit-config, then times R runs of each command as a new process (what a user
waits for) next to `python -c pass` with the same interpreter, the floor any Python CLI pays,
and prints each command's p50 as a multiple of that floor's (issue 25's target: `hv list vm`
with 100 VMs within 2x). Usage:
    python tools/bench/cli.py [--vms 100 1000] [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hv_cli import rpcs
from hv_cli.client import Client

from hvd_netconf.config import Settings
from hvd_netconf.daemon import start, wire_components

HV = str(Path(sys.executable).with_name("hv"))


def populate(socket_path: str, count: int) -> None:
    entries = [rpcs.entry("vm", f"vm{i:05d}", rpcs.leaf("cpu", str(1 + i % 4)),
                          rpcs.leaf("memory", str(256 * (1 + i % 8)))) for i in range(count)]
    client = Client.unix(socket_path)
    try:
        client.call(rpcs.edit_config("running", rpcs.config_tree("vm", *entries)))
    finally:
        client.close()


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def report(label: str, samples: list[float], floor: float | None = None) -> float:
    """Print p50/p90 (and p50 / floor); return p50."""
    q = statistics.quantiles(samples, n=10)
    p50 = statistics.median(samples)
    ratio = f"   {p50 / floor:4.2f}x python -c pass" if floor else ""
    print(f"  {label:<28} p50 {p50:6.1f} ms   p90 {q[-1]:6.1f} ms{ratio}")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine)")
    print("wiring: whole daemon (wire_components: NACM, sim host apply, supervisor)")
    floor = report("python -c pass (floor)", timed([sys.executable, "-c", "pass"], args.runs))
    for count in args.vms:
        with tempfile.TemporaryDirectory() as tmp:
            root, sock = Path(tmp) / "root", Path(tmp) / "hvd.sock"
            root.mkdir()
            running = start(Settings(root=root, socket=sock, backend="sim", listen=()),
                            wire_components)
            try:
                populate(str(sock), count)
                print(f"{count} VMs:")
                report("hv list vm", timed([HV, "--socket", str(sock), "list", "vm"], args.runs),
                       floor)
                report("hv show vm NAME",
                       timed([HV, "--socket", str(sock), "show", "vm", "vm00007"], args.runs),
                       floor)
            finally:
                running.stop()


if __name__ == "__main__":
    main()
