"""Issue 19: backups and full clones on the sim, hvd against the bare stream it wraps.

The whole daemon (child.py's `full` wiring, as `hvd --backend sim` and `make run` wire it)
backs up a VM whose one sparse disk (--size, 4 GiB by default) holds --data MiB written in
1 MiB pieces spread over it: a full backup to a directory target, an incremental one after
--change MiB were rewritten, a full backup to a dataset target, and a full clone. Each is
timed as the client sees it (the RPC's wall time) and set beside the bare operation on the
same sim host in this process: `zfs snapshot`, the `zfs send` into a file or a
`zfs receive` (SimHost.pipe), `zfs destroy` of the snapshot. The overhead is hvd's time over
the bare time. Figures are the median of --runs; the sim is not ZFS: it stands in for it
with sparse files, so the absolute numbers say nothing about a FreeBSD host.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).resolve().parent)]

from child import ChildHvd  # noqa: E402
from ncclient import manager  # noqa: E402
from ncclient.xml_ import to_ele  # noqa: E402

from hvd_netconf.host import zfs  # noqa: E402
from hvd_netconf.host import zfs_replication as zr  # noqa: E402
from hvd_netconf.host.sim.host import SimHost  # noqa: E402

VM = "urn:hvd:vm"
MIB = 1 << 20
DISK = "zroot/hv/vm/web/disks/d0"


def _median(fn: Callable[[int], object], runs: int) -> float:
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _scatter(sim: SimHost, size: int, data_mib: int, seed: int) -> None:
    """data_mib pieces of 1 MiB, spread evenly over the disk."""
    stride = max(size // max(data_mib, 1) // MIB, 1) * MIB
    piece = bytes((seed + i) % 251 for i in range(4096)) * 256
    with open(sim.zvol_file(DISK), "r+b") as f:
        for i in range(data_mib):
            f.seek(i * stride)
            f.write(piece)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="4G", help="the disk's size (default 4G, sparse)")
    ap.add_argument("--data", type=int, default=256, help="MiB written on it (default 256)")
    ap.add_argument("--change", type=int, default=16, help="MiB rewritten before the "
                    "incremental backup (default 16)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="--data 32 --change 4 --runs 1")
    a = ap.parse_args()
    if a.quick:
        a.data, a.change, a.runs = 32, 4, 1
    size = zfs.size_bytes(a.size)
    print(f"sim backend, whole daemon (child.py 'full' wiring); disk {a.size} sparse with "
          f"{a.data} MiB written; median of {a.runs} run(s); times in ms")
    with tempfile.TemporaryDirectory() as tmp, ChildHvd(Path(tmp), "full") as hvd, \
            manager.connect_uds(path=hvd.socket, timeout=600) as m:
        root = Path(tmp) / "root"
        sim = SimHost(root)
        sim.run(zfs.create_filesystem("zroot/backups", "operator"))
        sim.run(zfs.create_filesystem("zroot/bare", "operator"))
        files = Path(tmp) / "files"
        m.edit_config(target="running", config=(
            '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
            f'<vms xmlns="{VM}"><vm><name>web</name><disk><name>d0</name><size>{a.size}'
            "</size></disk></vm></vms>"
            f'<backup-targets xmlns="{VM}"><backup-target><name>files</name>'
            f"<directory>{files}</directory></backup-target>"
            "<backup-target><name>pool2</name><dataset>zroot/backups</dataset>"
            "</backup-target></backup-targets></config>"))
        _scatter(sim, size, a.data, 0)

        def call(rpc: str, body: str) -> None:
            m.dispatch(to_ele(f'<{rpc} xmlns="{VM}">{body}</{rpc}>'))

        rows: list[tuple[str, float, float]] = []

        def bare_file(i: int, base: str | None = None) -> None:
            snap = f"bare{time.monotonic_ns()}"
            sim.run(zfs.snapshot("zroot/hv/vm/web", snap, description=None, commit=0))
            sim.pipe(zr.send(f"{DISK}@{snap}", base=base, compressed=True),
                     Path(tmp) / f"{snap}.zstream")
            sim.run(zfs.destroy_snapshot("zroot/hv/vm/web", snap))

        def bare_recv(i: int) -> None:
            snap = f"bare{time.monotonic_ns()}"
            sim.run(zfs.snapshot("zroot/hv/vm/web", snap, description=None, commit=0))
            sim.pipe(zr.send(f"{DISK}@{snap}", compressed=True),
                     zr.receive(f"zroot/bare/{snap}", resumable=False))
            sim.run(zfs.destroy_snapshot("zroot/hv/vm/web", snap))

        hvd_full = _median(lambda i: call(
            "backup-vm", "<vm>web</vm><target>files</target><full>true</full>"), a.runs)
        rows.append(("full backup, directory target", hvd_full, _median(bare_file, a.runs)))

        def incremental(i: int) -> None:
            _scatter(sim, size, a.change, i + 1)
            call("backup-vm", "<vm>web</vm><target>files</target>")

        hvd_inc = _median(incremental, a.runs)
        # the bare incremental: from a bookmark of a fresh snapshot, after the same rewrite
        sim.run(zfs.snapshot("zroot/hv/vm/web", "barebase", description=None, commit=0))
        sim.run(zr.bookmark(f"{DISK}@barebase", "barebase"))
        sim.run(zfs.destroy_snapshot("zroot/hv/vm/web", "barebase"))

        def bare_inc(i: int) -> None:
            _scatter(sim, size, a.change, i + 7)
            bare_file(i, base=f"{DISK}#barebase")

        rows.append((f"incremental backup ({a.change} MiB rewritten), directory", hvd_inc,
                     _median(bare_inc, a.runs)))
        hvd_ds = _median(lambda i: call(
            "backup-vm", "<vm>web</vm><target>pool2</target>"), 1)
        rows.append(("full backup, dataset target", hvd_ds, _median(bare_recv, 1)))
        hvd_clone = _median(lambda i: call(
            "clone-vm", f"<vm>web</vm><name>c{i}</name><linked>false</linked>"), a.runs)
        rows.append(("full clone", hvd_clone, _median(bare_recv, a.runs)))

        width = max(len(r[0]) for r in rows)
        print(f"{'operation':<{width}}  {'hvd':>9}  {'bare':>9}  overhead")
        for what, mine, bare in rows:
            print(f"{what:<{width}}  {mine * 1e3:9.1f}  {bare * 1e3:9.1f}  "
                  f"{(mine - bare) / bare * 100:+7.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
