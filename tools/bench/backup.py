"""Issue 19: backups and full clones on the sim, hvd against the bare stream it wraps.

The whole daemon (child.py's `full` wiring, as `hvd --backend sim` and `make run` wire it)
backs up a VM whose one sparse disk (--size, 4 GiB by default) holds --data MiB written in
1 MiB pieces spread over it: a full backup to a directory target, an incremental one after
--change MiB were rewritten, a full backup to a dataset target, a full clone, and a snapshot
of a VM with 8 disks (one `zfs snapshot -r`, counted in the sim's log). Each is
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


def _paired(mine: Callable[[int], object], bare: Callable[[int], object], runs: int
            ) -> tuple[float, float]:
    """Medians of hvd's operation and the bare one, run in turn (hvd, bare, hvd, ...), so
    the sim's page cache and write-back weigh on both alike."""
    a, b = [], []
    for i in range(runs):
        a.append(_median(lambda _, i=i: mine(i), 1))
        b.append(_median(lambda _, i=i: bare(i), 1))
    return statistics.median(a), statistics.median(b)


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

        rows.append(("full backup, directory target", *_paired(lambda i: call(
            "backup-vm", "<vm>web</vm><target>files</target><full>true</full>"), bare_file,
            a.runs)))

        # incremental: each side rewrites --change MiB since its own base (hvd's: its last
        # backup, brought up to date untimed after the bare one's rewrite), then is timed
        inc_mine, inc_bare = [], []
        for i in range(a.runs):
            call("backup-vm", "<vm>web</vm><target>files</target>")  # hvd's base: now
            _scatter(sim, size, a.change, 2 * i + 1)
            inc_mine.append(_median(lambda _: call(
                "backup-vm", "<vm>web</vm><target>files</target>"), 1))
            base = f"barebase{i}"
            sim.run(zfs.snapshot("zroot/hv/vm/web", base, description=None, commit=0))
            sim.run(zr.bookmark(f"{DISK}@{base}", base))
            sim.run(zfs.destroy_snapshot("zroot/hv/vm/web", base))
            _scatter(sim, size, a.change, 2 * i + 2)
            inc_bare.append(_median(lambda _, base=base: bare_file(0, base=f"{DISK}#{base}"),
                                    1))
        rows.append((f"incremental backup ({a.change} MiB rewritten), directory",
                     statistics.median(inc_mine), statistics.median(inc_bare)))
        rows.append(("full backup, dataset target", *_paired(lambda i: call(
            "backup-vm", "<vm>web</vm><target>pool2</target><full>true</full>"), bare_recv,
            1)))
        rows.append(("full clone", *_paired(lambda i: call(
            "clone-vm", f"<vm>web</vm><name>c{i}</name><linked>false</linked>"), bare_recv,
            a.runs)))

        # a snapshot of a VM with 8 disks: one `zfs snapshot -r`, against the bare command
        m.edit_config(target="running", config=(
            '<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
            f'<vms xmlns="{VM}"><vm><name>eight</name>'
            + "".join(f"<disk><name>d{n}</name><size>1G</size></disk>" for n in range(8))
            + "</vm></vms></config>"))
        log = root / ".sim" / "host.log"
        before = log.read_text().count('"zfs", "snapshot"')
        hvd_snap = _median(lambda i: call(
            "snapshot-vm", f"<vm>eight</vm><name>s{i}</name>"), a.runs)
        commands = (log.read_text().count('"zfs", "snapshot"') - before) / a.runs
        rows.append((f"snapshot of a VM with 8 disks ({commands:g} zfs command each)",
                     hvd_snap, _median(lambda i: sim.run(zfs.snapshot(
                         "zroot/hv/vm/eight", f"b{i}", description=None, commit=0)), a.runs)))

        width = max(len(r[0]) for r in rows)
        print(f"{'operation':<{width}}  {'hvd':>9}  {'bare':>9}  overhead")
        for what, mine, bare in rows:
            print(f"{what:<{width}}  {mine * 1e3:9.1f}  {bare * 1e3:9.1f}  "
                  f"{(mine - bare) / bare * 100:+7.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
