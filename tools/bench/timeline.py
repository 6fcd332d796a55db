"""Where the time of one-leaf edit-config + commit cycles goes, client and server side.

    .venv/bin/python tools/bench/timeline.py [--vms 1000] [--cycles 400] [--wiring store]
                                             [--client ncclient|raw] [--gap MS]

Runs the cycles of commit.py (by default ncclient with TICK = 0.001 over the Unix socket, hvd
in a child process) with probes on both sides, and prints the median of each step of each
call. Both processes read the same monotonic clock, so a request can be followed from the
client's queue to hvd's reply. The child is this script (`--child`): it wraps the session's
recv, the server's dispatch and os.fdatasync, and records the thread's CPU time beside the
clock, so that a step shows how much of its time hvd was running and how much it was
waiting. The probes cost a few microseconds each.

The client steps are ncclient's: its reader thread sends a queued request only when its
select() times out (one TICK after it last went back to waiting), then parses the reply
before the caller wakes up. Everything from "in transit" to "reply in transit" is hvd's.
`--client raw` sends the same requests with a client that only frames bytes, each one
`--gap` ms after the last reply: the same work done back to back or after an idle pause.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

_REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(_REPO), str(_REPO / "tests"), str(Path(__file__).parent)]

Event = tuple[str, int, int]  # (probe, monotonic ns, CPU ns of the thread or 0)

WARMUP = 10
OPS = ("edit-config", "commit")
STEPS = (  # (label, from probe, to probe, is the server's)
    ("client builds and queues the request", "call", "queued", False),
    ("ncclient's reader waits for its tick", "queued", "written", False),
    ("request in transit", "written", "recv", True),
    ("hvd reads the frame, parses the XML", "recv", "dispatch", True),
    ("hvd runs the operation", "dispatch", "done", True),
    ("  of which fdatasync", "sync", "synced", True),
    ("reply in transit (frame, send, wake)", "done", "read", True),
    ("client parses the reply, wakes caller", "read", "returned", False),
)


# ---- the child: hvd with probes --------------------------------------------------------

def serve_probed(directory: Path, mode: str, out: Path) -> None:
    import child

    from hvd_netconf.server import Server
    from hvd_netconf.transport import connection

    events: list[Event] = []
    clock, cpu = time.monotonic_ns, time.thread_time_ns
    session_threads: set[int] = set()

    def probe(name: str) -> None:
        events.append((name, clock(), cpu()))

    class ProbedChannel:
        def __init__(self, channel: Any) -> None:
            self._channel = channel

        def recv(self, n: int) -> bytes:
            data: bytes = self._channel.recv(n)
            probe("recv")
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self._channel, name)

    plain_init = connection.Connection.__init__
    plain_dispatch = Server.dispatch
    plain_sync = os.fdatasync

    def init(self: Any, server: Any, channel: Any, info: Any, **kw: Any) -> None:
        plain_init(self, server, ProbedChannel(channel), info, **kw)

    def dispatch(self: Any, *args: Any, **kw: Any) -> bytes:
        session_threads.add(threading.get_ident())
        probe("dispatch")
        reply: bytes = plain_dispatch(self, *args, **kw)
        probe("done")
        return reply

    def fdatasync(fd: int) -> None:
        mine = threading.get_ident() in session_threads
        if mine:
            probe("sync")
        plain_sync(fd)
        if mine:
            probe("synced")

    connection.Connection.__init__ = init  # type: ignore[method-assign]
    Server.dispatch = dispatch  # type: ignore[method-assign]
    os.fdatasync = fdatasync
    atexit.register(lambda: out.write_text(json.dumps(events)))
    child.serve(directory, mode, False)


# ---- the client ---------------------------------------------------------------------------

def run(vms: int, cycles: int, wiring: str, client: str, gap: float) -> list[list[Event]]:
    """Each call's events, client and server merged in time order."""
    import commit as bench
    import support.server  # noqa: F401 (lowers ncclient's TICK)
    from lxml import etree
    from ncclient import manager
    from support.rawclient import RawClient, is_ok, rpc_xml

    events: list[Event] = []
    clock = time.monotonic_ns

    def probe(name: str) -> None:
        events.append((name, clock(), 0))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "server-events.json")
        proc = subprocess.Popen([sys.executable, __file__, "--child", tmp, wiring, str(out)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        try:
            socket_path = json.loads(proc.stdout.readline())["socket_path"]
            with manager.connect_uds(path=socket_path, timeout=600) as m:
                m.edit_config(bench.create_all(vms), target="candidate")
                m.commit()
                bench.wait_on_disk(Path(tmp), vms)
                if client == "ncclient":
                    _probe_session(m._session, probe)
                    events.clear()
                    for i in range(cycles):
                        probe("call")
                        m.edit_config(bench.one_leaf(i), target="candidate")
                        probe("returned")
                        probe("call")
                        m.commit()
                        probe("returned")
            if client == "raw":
                with RawClient.unix(socket_path, 600) as c:
                    c.hello("1.1")
                    events.clear()
                    for i in range(cycles):
                        for op in (bench.raw_one_leaf(i + 1), "<commit/>"):
                            time.sleep(gap)
                            probe("call")
                            probe("written")
                            c.send_message(rpc_xml(op))
                            reply = c.read_message()
                            probe("read")
                            probe("returned")
                            if not is_ok(etree.fromstring(reply)):
                                raise RuntimeError(reply.decode())
        finally:
            proc.stdin.close()
            proc.wait(60)
        server: list[Event] = [(str(n), int(t), int(c)) for n, t, c in
                               json.loads(out.read_text())]
    merged = sorted(events + server, key=lambda e: e[1])
    calls: list[list[Event]] = []
    for e in merged:
        if e[0] == "call":
            calls.append([])
        if calls:
            calls[-1].append(e)
    return [c for c in calls if any(e[0] == "returned" for e in c)]


def _probe_session(session: Any, probe: Any) -> None:
    send, write, read = session.send, session._transport_write, session._transport_read

    def queued(message: Any) -> Any:
        probe("queued")
        return send(message)

    def written(data: bytes) -> Any:
        probe("written")
        return write(data)

    def reply() -> bytes:
        data: bytes = read()
        probe("read")
        return data

    session.send, session._transport_write, session._transport_read = queued, written, reply


def _first(call: list[Event], name: str, after: int = 0) -> Event | None:
    return next((e for e in call if e[0] == name and e[1] >= after), None)


def spans(call: list[Event]) -> dict[str, tuple[float, float]]:
    """Each step's (wall µs, server CPU µs) in one call; fdatasync summed over its flushes."""
    out: dict[str, tuple[float, float]] = {}
    for label, a, b, _ in STEPS:
        if a == "sync":
            pairs = zip([e for e in call if e[0] == "sync"], [e for e in call if e[0] == "synced"],
                        strict=False)
            got = [((y[1] - x[1]) / 1e3, (y[2] - x[2]) / 1e3) for x, y in pairs]
            out[label] = (sum(g[0] for g in got), sum(g[1] for g in got))
            continue
        start = _first(call, a)
        end = _first(call, b, start[1]) if start is not None else None
        if start is None or end is None:
            continue
        cpu = (end[2] - start[2]) / 1e3 if start[2] and end[2] else 0.0
        out[label] = ((end[1] - start[1]) / 1e3, cpu)
    first, last = call[0], _first(call, "returned")
    if last is not None:
        out["whole call"] = ((last[1] - first[1]) / 1e3, 0.0)
    return out


def report(title: str, calls: list[list[Event]]) -> None:
    per_op: dict[str, list[dict[str, tuple[float, float]]]] = {op: [] for op in OPS}
    for i, call in enumerate(calls[2 * WARMUP:]):
        per_op[OPS[i % 2]].append(spans(call))
    print(f"{title}, {len(per_op['commit'])} cycles; medians in ms, hvd's CPU time in "
          "brackets")
    print(f"  {'step':<42}" + "".join(f"{op:>20}" for op in OPS))
    for label in [s[0] for s in STEPS] + ["whole call"]:
        cells = []
        for op in OPS:
            got = [s[label] for s in per_op[op] if label in s]
            wall = statistics.median(g[0] for g in got) / 1e3 if got else 0.0
            cpu = statistics.median(g[1] for g in got) / 1e3 if got else 0.0
            if not wall:
                cells.append("-       ")
            else:
                cells.append(f"{wall:8.3f} ({cpu:.3f})" if cpu else f"{wall:8.3f}        ")
        print(f"  {label:<42}" + "".join(f"{c:>20}" for c in cells))
    hvd_steps = [label for label, a, _, hvd in STEPS if hvd and a != "sync"]
    cycles = [(a, b) for a, b in zip(per_op["edit-config"], per_op["commit"], strict=False)
              if all(step in c for c in (a, b) for step in ["whole call", *hvd_steps])]

    def p50(f: Any) -> float:
        return statistics.median(f(a) + f(b) for a, b in cycles) / 1e3

    whole = p50(lambda c: c["whole call"][0])
    hvd = p50(lambda c: sum(c[step][0] for step in hvd_steps))
    cpu = p50(lambda c: sum(c[step][1] for step in hvd_steps))
    print(f"  edit + commit cycle p50: {whole:.3f} ms; from each request written to its reply "
          f"read: {hvd:.3f} ms, of which hvd ran {cpu:.3f} ms")


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        serve_probed(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=400)
    ap.add_argument("--wiring", default="store", choices=("store", "store-nofsync", "full"))
    ap.add_argument("--client", default="ncclient", choices=("ncclient", "raw"),
                    help="raw: a client that only frames bytes, sending each request --gap "
                         "ms after the last reply (0: at once)")
    ap.add_argument("--gap", type=float, default=0.0)
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine)")
    calls = run(args.vms, args.cycles + WARMUP, args.wiring, args.client, args.gap / 1e3)
    label = args.client if args.client == "ncclient" else f"raw client, gap {args.gap:g} ms"
    report(f"{args.vms} VMs, wiring {args.wiring}, {label}", calls)


if __name__ == "__main__":
    main()
