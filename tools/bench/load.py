#!/usr/bin/env python3
"""Bounded load test against a real hvd on a Unix socket (never a remote host).

Starts `hvd --backend sim` under a temporary root, creates one VM per worker, then runs N
concurrent sessions (default 50) for D seconds (default 60), each mixing get, get-config,
edit-config + commit on the candidate and lock/unlock of running. Reports operations per
second, p50/p99 latency per operation, errors other than lock contention (must be 0), whether
the final running configuration equals what the acknowledged commits wrote, and hvd's peak RSS.

    .venv/bin/python tools/bench/load.py --sessions 50 --duration 60
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from lxml import etree

from hvd_netconf.wire.framing import ChunkedDecoder, EomDecoder, encode_chunked

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"
VM = "urn:hvd:vm"
HELLO = (f'<hello xmlns="{BASE}"><capabilities><capability>urn:ietf:params:netconf:base:1.1'
         "</capability></capabilities></hello>]]>]]>").encode()
NS = {"nc": BASE, "v": VM}


class Client:
    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(path)
        eom = EomDecoder(1 << 20)
        while (hello := eom.next()) is None:
            eom.feed(self.sock.recv(65536))
        assert b"session-id" in hello  # type: ignore[operator]
        self.sock.sendall(HELLO)
        self.dec = ChunkedDecoder(1 << 28)
        self.dec.feed(eom.leftover())
        self.mid = 0

    def rpc(self, op: str) -> etree._Element:
        self.mid += 1
        self.sock.sendall(encode_chunked(
            f'<rpc xmlns="{BASE}" message-id="{self.mid}">{op}</rpc>'.encode()))
        while (msg := self.dec.next()) is None:
            data = self.sock.recv(262144)
            if not data:
                raise EOFError("hvd closed the session")
            self.dec.feed(data)
        return etree.fromstring(msg)  # type: ignore[arg-type]

    def close(self) -> None:
        try:
            self.rpc("<close-session/>")
        finally:
            self.sock.close()


def error_tags(reply: etree._Element) -> list[str]:
    return reply.xpath("nc:rpc-error/nc:error-tag/text()", namespaces=NS)


def edit(vms: str) -> str:
    return (f"<edit-config><target><candidate/></target><config>"
            f'<vms xmlns="{VM}">{vms}</vms></config></edit-config>')


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.contention = 0
        self.errors: list[str] = []
        self.mutex = threading.Lock()

    def add(self, op: str, seconds: float) -> None:
        with self.mutex:
            self.lat[op].append(seconds)

    def error(self, text: str) -> None:
        with self.mutex:
            self.errors.append(text)


def worker(idx: int, path: str, stop: float, stats: Stats, acked: dict[str, str],
           seed: int) -> None:
    rnd = random.Random(seed + idx)
    name = f"load{idx}"
    c = Client(path)
    counter = 0
    try:
        while time.monotonic() < stop:
            kind = rnd.choices(["get", "get-config", "edit-commit", "lock"], [3, 3, 3, 1])[0]
            t0 = time.perf_counter()
            if kind == "get":
                reply = c.rpc("<get/>")
                tags = error_tags(reply)
            elif kind == "get-config":
                reply = c.rpc(f'<get-config><source><running/></source><filter><vms '
                              f'xmlns="{VM}"><vm><name>{name}</name></vm></vms></filter>'
                              "</get-config>")
                tags = error_tags(reply)
            elif kind == "lock":
                tags = error_tags(c.rpc("<lock><target><running/></target></lock>"))
                if not tags:
                    tags = error_tags(c.rpc("<unlock><target><running/></target></unlock>"))
            else:
                counter += 1
                value = f"{name}-{counter}"
                tags = error_tags(c.rpc(edit(f"<vm><name>{name}</name>"
                                             f"<description>{value}</description></vm>")))
                while not tags:
                    tags = error_tags(c.rpc("<commit/>"))
                    if tags == ["lock-denied"] or tags == ["in-use"]:
                        with stats.mutex:
                            stats.contention += 1
                        time.sleep(0.002)
                        tags = []
                        continue
                    if not tags:
                        acked[name] = value
                    break
            stats.add(kind, time.perf_counter() - t0)
            if tags in (["lock-denied"], ["in-use"]):
                with stats.mutex:
                    stats.contention += 1
            elif tags:
                stats.error(f"{kind}: {tags}")
    except (OSError, EOFError) as exc:
        stats.error(f"session {idx}: {type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(OSError, EOFError):
            c.close()


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hvd-load-"))
    sock = tmp / "hvd.sock"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.Popen(
        [sys.executable, "-m", "hvd_netconf.daemon", "--root", str(tmp / "root"),
         "--socket", str(sock), "--backend", "sim", "--foreground", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / "hvd.log", "w"))  # noqa: SIM115
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                print((tmp / "hvd.log").read_text(), file=sys.stderr)
                return 2
            time.sleep(0.05)
        setup = Client(str(sock))
        names = [f"load{i}" for i in range(args.sessions)]
        reply = setup.rpc(edit("".join(f"<vm><name>{n}</name><description>{n}-0"
                                       "</description></vm>" for n in names)))
        reply2 = setup.rpc("<commit/>")
        if error_tags(reply) or error_tags(reply2):
            print(f"setup failed: {etree.tostring(reply)!r} {etree.tostring(reply2)!r}",
                  file=sys.stderr)
            return 2
        acked = {n: f"{n}-0" for n in names}
        stats = Stats()
        stop = time.monotonic() + args.duration
        threads = [threading.Thread(target=worker, args=(i, str(sock), stop, stats, acked,
                                                         args.seed))
                   for i in range(args.sessions)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        final = setup.rpc(f'<get-config><source><running/></source><filter><vms xmlns="{VM}"/>'
                          "</filter></get-config>")
        got = {vm.findtext("v:name", namespaces=NS): vm.findtext("v:description",
                                                                  namespaces=NS)
               for vm in final.iterfind(".//v:vm", NS)}
        setup.close()
        total = sum(len(v) for v in stats.lat.values())
        figures = {
            "sessions": args.sessions,
            "seconds": round(elapsed, 1),
            "operations": total,
            "ops_per_second": round(total / elapsed, 1),
            "p50_ms": round(pct([x for v in stats.lat.values() for x in v], 0.50), 2),
            "p99_ms": round(pct([x for v in stats.lat.values() for x in v], 0.99), 2),
            "per_op": {k: {"n": len(v), "p50_ms": round(pct(v, 0.5), 2),
                           "p99_ms": round(pct(v, 0.99), 2)} for k, v in stats.lat.items()},
            "lock_contention": stats.contention,
            "errors": len(stats.errors),
            "error_samples": stats.errors[:5],
            "final_equals_acknowledged": got == acked,
            "hvd_peak_rss_mib": round(peak_rss_kib(proc.pid) / 1024, 1),
        }
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:26} {value}")
    ok = figures["errors"] == 0 and figures["final_equals_acknowledged"]
    subprocess.run(["rm", "-rf", str(tmp)], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
