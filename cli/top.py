"""`hv top` and `hv stats VM`: the statistics hvd reports (docs/statistics.md), as rates.

A frame is one <get> of every VM's status and statistics; rates are the counters' differences
between two frames over the time between them. On a terminal `hv top` redraws in place on the
alternate screen and reads single keys (q quits; c, m, d, n and v sort by CPU, memory, disk,
network and name); elsewhere it prints one table from two frames.
"""

from __future__ import annotations

import calendar
import contextlib
import itertools
import math
import os
import select
import termios
import time
import tty
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import NamedTuple, TextIO

from hv_cli.render import size

from hvd_netconf.namespaces import HVD, VM

SORTS = {"c": "cpu", "m": "mem", "d": "disk", "n": "net", "v": "name"}
_SPARK = "▁▂▃▄▅▆▇█"


def _q(name: str) -> str:
    return f"{{{VM}}}{name}"


class Snap(NamedTuple):  # named tuples: a one-shot hv loads no dataclasses (test_oneshot_imports)
    """One VM in one frame: counters as read, None where hvd gave none."""

    status: str
    cpu_ms: float | None
    rss: float | None
    disk: float  # bytes read + written, all disks
    net: float  # octets in + out, all NICs


class Row(NamedTuple):
    name: str
    status: str
    cpu: float | None  # percent of one host CPU
    mem: float | None
    disk: float | None  # bytes per second
    net: float | None


def _num(el: ET.Element | None, name: str) -> float | None:
    text = el.findtext(_q(name)) if el is not None else None
    return float(text) if text else None


def _sum(st: ET.Element, child: str, leaves: tuple[str, ...]) -> float:
    return sum(_num(c, leaf) or 0.0 for c in st.iterfind(_q(child)) for leaf in leaves)


def snaps(data: ET.Element | None) -> dict[str, Snap]:
    """The VMs of a <get> reply's data."""
    out: dict[str, Snap] = {}
    if data is None:
        return out
    for vm in data.iter(_q("vm")):
        st = vm.find(_q("statistics"))
        out[vm.findtext(_q("name")) or ""] = Snap(
            vm.findtext(f"{_q('state')}/{_q('status')}") or "-",
            _num(st, "cpu-time"), _num(st, "resident-memory"),
            _sum(st, "disk", ("read-octets", "write-octets")) if st is not None else 0.0,
            _sum(st, "nic", ("in-octets", "out-octets")) if st is not None else 0.0)
    return out


def rows(before: dict[str, Snap] | None, after: dict[str, Snap], seconds: float) -> list[Row]:
    out = []
    for name, now in after.items():
        old = before.get(name) if before else None
        ok = old is not None and seconds > 0 and now.cpu_ms is not None
        cpu = disk = net = None
        if ok and old is not None and old.cpu_ms is not None and now.cpu_ms is not None \
                and now.cpu_ms >= old.cpu_ms:  # a smaller counter: the VM restarted
            cpu = (now.cpu_ms - old.cpu_ms) / 10 / seconds
            disk = max(now.disk - old.disk, 0.0) / seconds
            net = max(now.net - old.net, 0.0) / seconds
        out.append(Row(name, now.status, cpu, now.rss, disk, net))
    return out


def ordered(table: list[Row], key: str) -> list[Row]:
    if key == "name":
        return sorted(table, key=lambda r: r.name)

    def value(r: Row) -> float:
        v = getattr(r, key)
        return -1.0 if v is None else float(v)
    return sorted(table, key=lambda r: (-value(r), r.name))


def table_text(table: list[Row]) -> str:
    head = ["VM", "STATUS", "CPU%", "MEM", "DISK", "NET"]
    lines = [[r.name, r.status, "-" if r.cpu is None else f"{r.cpu:.1f}", size(r.mem),
              size(r.disk, "/s"), size(r.net, "/s")] for r in table]
    widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(head)]
    out = []
    for line in (head, *lines):
        cells = [line[0].ljust(widths[0]), line[1].ljust(widths[1]),
                 *(c.rjust(w) for c, w in zip(line[2:], widths[2:], strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def as_dicts(table: list[Row]) -> list[dict[str, object]]:
    return [{"vm": r.name, "status": r.status, "cpu-percent": r.cpu, "resident-memory": r.mem,
             "disk-bytes-per-second": r.disk, "net-bytes-per-second": r.net} for r in table]


def batch(fetch: Callable[[], dict[str, Snap]], interval: float) -> list[Row]:
    """Two frames `interval` apart: the rates of one interval, as `top -b` prints them."""
    t0, first = time.monotonic(), fetch()
    time.sleep(interval)
    t1, second = time.monotonic(), fetch()
    return rows(first, second, t1 - t0)


@contextlib.contextmanager
def _screen(fd: int, out: TextIO) -> Iterator[None]:
    """cbreak input (a key at a time, no echo) and the alternate screen, restored at exit."""
    saved = termios.tcgetattr(fd)
    out.write("\x1b[?1049h\x1b[?25l")
    try:
        tty.setcbreak(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        out.write("\x1b[?25h\x1b[?1049l")
        out.flush()


def host_line(data: ET.Element | None) -> str:
    """`host: 4 CPUs, load 0.52 0.41 0.30, memory 16.0 GiB, running VMs were given 1.5 GiB`."""
    st = data.find(f"{{{HVD}}}host/{{{HVD}}}statistics") if data is not None else None
    if st is None:
        return ""

    def text(name: str) -> str:
        return st.findtext(f"{{{HVD}}}{name}") or "-"

    def num(name: str) -> float | None:
        found = st.findtext(f"{{{HVD}}}{name}")
        return float(found) if found else None

    load = " ".join(text(f"load-average-{m}") for m in (1, 5, 15))
    return (f"host: {text('cpus')} CPUs, load {load}, memory {size(num('physical-memory'))}, "
            f"running VMs were given {size(num('vm-memory'))}")


def live(fetch: Callable[[], dict[str, Snap]], out: TextIO, fd: int, interval: float,
         sort: str, where: str, host: Callable[[], str] = lambda: "") -> None:
    """Redraw every `interval` seconds until q (or end of input)."""
    before: dict[str, Snap] | None = None
    t_before = 0.0
    with _screen(fd, out):
        while True:
            now, after = time.monotonic(), fetch()
            table = ordered(rows(before, after, now - t_before), sort)
            running = sum(1 for r in table if r.status == "running")
            out.write("\x1b[H\x1b[J")
            out.write(f"hv top - {where} - {running} of {len(table)} VMs running - "
                      f"sorted by {sort} - every {interval:g} s - {time.strftime('%H:%M:%S')}\n"
                      f"{host()}\nkeys: c cpu, m memory, d disk, n network, v name, q quit\n\n")
            out.write(table_text(table) + "\n")
            out.flush()
            before, t_before = after, now
            deadline = now + interval
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([fd], [], [], left)
                if not ready:
                    break
                key = os.read(fd, 1).decode(errors="replace")
                if key in ("q", "Q", "") or key == "\x03":
                    return
                if key in SORTS:
                    sort = SORTS[key]
                    break  # redraw now in the new order


def spark(values: list[float]) -> str:
    """A small graph of the values, one character each (scaled to their largest)."""
    top = max(values, default=0.0)
    if top <= 0:
        return _SPARK[0] * len(values)
    return "".join(_SPARK[min(int(v / top * (len(_SPARK) - 1) + 0.5), len(_SPARK) - 1)]
                   for v in values)


class Point(NamedTuple):
    time: str
    values: dict[str, float]


def history(reply: ET.Element) -> tuple[int, list[Point]]:
    period = int(reply.findtext(_q("period")) or 0)
    points = []
    for sample in reply.iterfind(_q("sample")):
        values = {child.tag.rpartition("}")[2]: float(child.text or "nan") for child in sample
                  if child.tag != _q("time")}
        points.append(Point(sample.findtext(_q("time")) or "", values))
    return period, points


def rates(points: list[Point], key: str) -> list[float]:
    """Per-second differences of a counter between consecutive points."""
    out = []
    for a, b in itertools.pairwise(points):
        dt = _seconds(b.time) - _seconds(a.time)
        va, vb = a.values.get(key, math.nan), b.values.get(key, math.nan)
        out.append(max(vb - va, 0.0) / dt if dt > 0 and not math.isnan(va + vb) else 0.0)
    return out


def _seconds(stamp: str) -> float:
    return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
