"""Wall time of one-shot `hv list vm` and `hv show vm NAME` against a fresh hvd (sim backend).

Starts hvd in this process under a temporary root with the whole daemon's wiring
(`wire_components`, as `hvd --backend sim` runs: NACM, sim host apply, supervisor), creates N
VMs with one edit-config, then times R runs of each command as a new process (what a user
waits for), each run next to one of `python -c pass` with the same interpreter (the floor any
Python CLI pays; interleaved, so both see the same load), and prints each command's p50 as a
multiple of the floor's p50 (issue 25's target: `hv list vm` with 100 VMs within 2x).

The children run with compiled bytecode, as an installed hv does: PYTHONDONTWRITEBYTECODE is
dropped for them and their .pyc files go to a temporary PYTHONPYCACHEPREFIX, written by one
untimed warm-up run (without them every run compiles hv's modules anew). Usage:
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
from inproc import sim_daemon

HV = str(Path(sys.executable).with_name("hv"))


def config(count: int) -> list[rpcs.El]:
    entries = [rpcs.entry("vm", f"vm{i:05d}", rpcs.leaf("cpu", str(1 + i % 4)),
                          rpcs.leaf("memory", str(256 * (1 + i % 8)))) for i in range(count)]
    return [rpcs.config_tree("vm", *entries)]


def timed(argv: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    """(floor, command) wall times in ms, the two run alternately."""
    floor_argv = [sys.executable, "-c", "pass"]
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)  # writes the .pyc
    floor, out = [], []
    for _ in range(runs):
        for samples, args in ((floor, floor_argv), (out, argv)):
            t0 = time.perf_counter()
            subprocess.run(args, stdout=subprocess.DEVNULL, check=True, env=env)
            samples.append((time.perf_counter() - t0) * 1000)
    return floor, out


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
    with tempfile.TemporaryDirectory() as cache:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for count in args.vms:
            with sim_daemon(config(count)) as (_running, sock):
                print(f"{count} VMs:")
                for label, words in (("hv list vm", ["list", "vm"]),
                                     ("hv show vm NAME", ["show", "vm", "vm00007"])):
                    floor, samples = timed([HV, "--socket", sock, *words], args.runs, env)
                    report(label, samples, report("python -c pass (floor)", floor))

if __name__ == "__main__":
    main()
