"""Micro-benchmark: one-entry commit in a store of N VMs, with and without fsync.

Run: .venv/bin/python tests/store/bench_commit.py [N ...]  (default 100 1000 10000).
Prints the median time of a one-leaf commit and the share of it spent waiting for fsync.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time

from lxml import etree

from hvd_netconf.namespaces import VM
from hvd_netconf.store import CommitMeta, Datastores


def _vm(name: str, cpu: int = 1) -> etree._Element:
    el = etree.Element(f"{{{VM}}}vm", nsmap={None: VM})
    for tag, text in (("name", name), ("description", f"VM {name}"), ("cpu", str(cpu)),
                      ("memory", "1024")):
        etree.SubElement(el, f"{{{VM}}}{tag}").text = text
    disk = etree.SubElement(el, f"{{{VM}}}disk")
    etree.SubElement(disk, f"{{{VM}}}name").text = "boot"
    etree.SubElement(disk, f"{{{VM}}}size").text = "20G"
    return el


def measure(n: int, rounds: int = 30) -> dict[str, float]:
    """Median milliseconds of a one-entry commit, fsync on and off, in an n-VM store."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as root:
        t0 = time.perf_counter()
        Datastores(root, fsync=False).write_running(
            {("vm", f"vm{i}"): _vm(f"vm{i}") for i in range(n)},
            CommitMeta(source="copy-config"))
        out["populate_s"] = time.perf_counter() - t0
        for fsync in (True, False):
            t0 = time.perf_counter()
            ds = Datastores(root, fsync=fsync)
            out["open_s"] = time.perf_counter() - t0
            times = []
            for r in range(rounds):
                key = ("vm", f"vm{(r * 7919) % n}")
                t0 = time.perf_counter()
                ds.commit({key: _vm(key[1], cpu=1 + r % 30)}, CommitMeta(user="bench"))
                times.append((time.perf_counter() - t0) * 1000)
            out["fsync_ms" if fsync else "nofsync_ms"] = statistics.median(times)
    out["fsync_share"] = 1 - out["nofsync_ms"] / out["fsync_ms"]
    return out


def main(sizes: list[int]) -> None:
    print(f"{'VMs':>7} {'commit ms (fsync)':>18} {'no fsync':>9} {'fsync share':>12}"
          f" {'open s':>7}")
    for n in sizes:
        r = measure(n)
        print(f"{n:>7} {r['fsync_ms']:>18.2f} {r['nofsync_ms']:>9.2f} "
              f"{r['fsync_share']:>11.0%} {r['open_s']:>7.2f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
