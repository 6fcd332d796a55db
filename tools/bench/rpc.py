"""Per-RPC latency of get-config through hvd's whole wire path (issue 3).

    .venv/bin/python tools/bench/rpc.py [--count N] [--sessions 1 20] [--sizes 1000 10000]
                                        [--no-ssh] [--runs R]

Starts hvd in a child process (child.py) with the daemon's full wiring (schema, NACM, sim
host, notifications) under a temporary root whose datastore is written beforehand, then
reports p50/p99 in ms:
  * small get-config: a subtree filter selecting one VM out of 100, with ncclient (TICK
    lowered to 0.001) over the Unix socket and SSH, 1 and 20 concurrent sessions each with
    its own connection; the same with a raw client that only frames bytes (no XML parsing),
    which is the server's own share; lock+unlock, the bare wire path;
  * get-config of everything with 1,000 and 10,000 VMs: ncclient, and the raw client's time
    to the last byte of the reply (server + transfer).
The difference ncclient - raw is ncclient's cost (its reader loop sleeps up to TICK before it
sends a queued request, then it parses the reply into a DOM).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).parent)]

from child import ChildHvd  # noqa: E402
from support.rawclient import RawClient  # noqa: E402
from support.server import HvdAddress  # noqa: E402 (lowers ncclient TICK)

from hvd_netconf.namespaces import VM  # noqa: E402
from hvd_netconf.store import CommitMeta, Datastores  # noqa: E402
from hvd_netconf.store.datastore import Datastore  # noqa: E402

SMALL_VMS = 100
ONE_VM = f'<vms xmlns="{VM}"><vm><name>vm00042</name></vm></vms>'
GET_ONE = f'<get-config><source><running/></source><filter type="subtree">{ONE_VM}</filter>' \
          "</get-config>"
GET_ALL = "<get-config><source><running/></source></get-config>"


def vm(i: int) -> Any:
    from lxml import etree

    el = etree.Element(f"{{{VM}}}vm", nsmap={None: VM})
    for name, text in (("name", f"vm{i:05d}"), ("cpu", str(1 + i % 4)),
                       ("memory", str(256 * (1 + i % 8)))):
        etree.SubElement(el, f"{{{VM}}}{name}").text = text
    disk = etree.SubElement(el, f"{{{VM}}}disk")
    etree.SubElement(disk, f"{{{VM}}}name").text = "root"
    etree.SubElement(disk, f"{{{VM}}}size").text = "20G"
    return el


def seed(root: Path, n: int) -> None:
    """Write n VMs into the store before hvd starts (fast: no edit, no host apply)."""
    root.mkdir(parents=True, exist_ok=True)
    ds = Datastores(str(root), fsync=False)
    ds.write_running({("vm", f"vm{i:05d}"): vm(i) for i in range(n)},
                     CommitMeta(source="copy-config"))
    assert isinstance(ds.running, Datastore)
    ds.close()  # the files of a big write follow in the background: all of them before hvd


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))] * 1000


def report(name: str, samples: list[float]) -> None:
    print(f"  {name:<44} n={len(samples):<6} p50 {pct(samples, 50):7.3f} ms  "
          f"p99 {pct(samples, 99):7.3f} ms", flush=True)


def raw_call(c: RawClient, op: str, mid: int) -> bytes:
    """One RPC with the raw client; returns the reply bytes unparsed (server's share)."""
    c.send_message(f'<rpc xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" '
                   f'message-id="{mid}">{op}</rpc>'.encode())
    reply = c.read_message()
    if b"<rpc-error" in reply:
        raise RuntimeError(reply[:500])
    return reply


def concurrent(sessions: int, count: int, connect: Callable[[], Any],
               call: Callable[[Any, int], object], warm: int = 20) -> list[float]:
    """`sessions` threads, each with its own connection, `count` calls in all; latencies."""
    conns = [connect() for _ in range(sessions)]
    per = max(1, count // sessions)
    out: list[list[float]] = [[] for _ in conns]
    start = threading.Barrier(sessions)

    def worker(k: int) -> None:
        c = conns[k]
        for i in range(warm):
            call(c, i)
        start.wait()
        lat = out[k]
        for i in range(per):
            t0 = time.perf_counter()
            call(c, i)
            lat.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        (c.close_session if hasattr(c, "close_session") else c.close)()
    return [x for lat in out for x in lat]


def raw_connect(inst: HvdAddress, ssh: bool) -> Callable[[], RawClient]:
    def connect() -> RawClient:
        c = inst.raw_ssh(timeout=60) if ssh else inst.raw(timeout=60)
        c.hello("1.1")
        return c
    return connect


def small(args: argparse.Namespace) -> None:
    print(f"small get-config (one VM of {SMALL_VMS}, subtree filter), and lock+unlock:")
    with tempfile.TemporaryDirectory() as tmp:
        seed(Path(tmp) / "root", SMALL_VMS)
        with ChildHvd(Path(tmp), "full", ssh=args.ssh) as child:
            inst = child.address
            transports = [("unix", False)] + ([("ssh", True)] if args.ssh else [])
            for label, over_ssh in transports:
                for sessions in args.sessions:
                    def nc_connect(s: bool = over_ssh) -> Any:
                        return inst.connect_ssh() if s else inst.connect_uds()

                    def nc_get(m: Any, _i: int) -> object:
                        return m.get_config("running", filter=("subtree", ONE_VM))

                    lat = concurrent(sessions, args.count, nc_connect, nc_get)
                    report(f"ncclient {label} get-config, {sessions} session(s)", lat)
                    lat = concurrent(sessions, args.count, raw_connect(inst, over_ssh),
                                     lambda c, i: raw_call(c, GET_ONE, i))
                    report(f"raw {label} get-config, {sessions} session(s)", lat)

            def nc_lock(m: Any, _i: int) -> None:
                m.lock("running")
                m.unlock("running")

            def raw_lock(c: RawClient, i: int) -> None:
                raw_call(c, "<lock><target><running/></target></lock>", i)
                raw_call(c, "<unlock><target><running/></target></unlock>", i)

            lat = concurrent(1, args.count, inst.connect_uds, nc_lock)
            report("ncclient unix lock+unlock, per RPC", [x / 2 for x in lat])
            lat = concurrent(1, args.count, raw_connect(inst, False), raw_lock)
            report("raw unix lock+unlock, per RPC", [x / 2 for x in lat])


def whole(args: argparse.Namespace) -> None:
    for n in args.sizes:
        print(f"get-config of all {n} VMs:")
        with tempfile.TemporaryDirectory() as tmp:
            seed(Path(tmp) / "root", n)
            with ChildHvd(Path(tmp), "full", ssh=args.ssh) as child:
                inst = child.address
                size = len(raw_call(raw_connect(inst, False)(), GET_ALL, 0))
                print(f"  reply: {size / 1e6:.2f} MB")
                lat = concurrent(1, args.runs, inst.connect_uds,
                                 lambda m, i: m.get_config("running"), warm=3)
                report("ncclient unix", lat)
                if args.ssh:
                    lat = concurrent(1, args.runs, inst.connect_ssh,
                                     lambda m, i: m.get_config("running"), warm=3)
                    report("ncclient ssh", lat)
                lat = concurrent(1, args.runs, raw_connect(inst, False),
                                 lambda c, i: raw_call(c, GET_ALL, i), warm=3)
                report("raw unix (to the last byte)", lat)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=2000, help="small RPCs per measurement")
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 20])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--runs", type=int, default=50, help="whole-datastore get-configs per size")
    ap.add_argument("--no-ssh", dest="ssh", action="store_false")
    ap.add_argument("--skip-small", action="store_true")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine)")
    if not args.skip_small:
        small(args)
    whole(args)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
