"""Statistics sources of a FreeBSD host: pure argv builders and parsers of what they print.

A whole sample takes a fixed handful of commands, never one per VM (docs/statistics.md):
`ps` for the CPU time and memory of every guest process at once, one `netstat -i` for every
interface counter, one `zpool list`, one `sysctl -i` for the host figures and one `sysctl -i`
per pool for the per-dataset ZFS kstats (a VM's disks). `rctl -u` reads one process' racct
usage; no sample runs it (one command per VM), the sim answers it (with a racct-less host's
refusal) for what builds on racct. The facts each parser relies on are in
docs/freebsd-facts.md §17.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

Argv = tuple[str, ...]

RACCT_DISABLED = "RACCT/RCTL present, but disabled; enable using kern.racct.enable=1 tunable"

# The host figures one sample reads (sysctl(8) -i: an OID this kernel lacks, such as the ARC's
# without zfs.ko, is left out instead of failing the whole read).
HOST_OIDS: tuple[str, ...] = (
    "hw.ncpu", "hw.physmem", "hw.pagesize", "vm.loadavg", "vm.stats.vm.v_wire_count",
    "kstat.zfs.misc.arcstats.size", "kern.racct.enable",
)


# ---- argv ---------------------------------------------------------------------------------

def ps_usage(pids: Iterable[int]) -> Argv:
    """ps(1): pid, accumulated CPU time (`time`), resident set size in KiB (`rss`) and the
    decaying CPU percentage (`pcpu`) of the given processes, without a header (`=`)."""
    return ("ps", "-o", "pid=,time=,rss=,pcpu=", "-p", ",".join(str(p) for p in sorted(pids)))


def rctl_usage(pid: int) -> Argv:
    """rctl(8) -u: the racct usage of one process, one `resource=amount` per line."""
    return ("rctl", "-u", f"process:{pid}")


def netstat_interfaces() -> Argv:
    """netstat(1) -i -b -n with libxo JSON: packets, errors, drops and bytes of every
    interface in one read."""
    return ("netstat", "-i", "-b", "-n", "--libxo", "json")


def zpool_list() -> Argv:
    """zpool-list(8): scripted (-H), exact (-p) and the columns named (-o)."""
    return ("zpool", "list", "-Hp", "-o", "name,size,allocated,free,fragmentation,capacity,health")


def sysctl_host() -> Argv:
    """sysctl(8) -i: `name: value` lines of the host figures, unknown OIDs skipped."""
    return ("sysctl", "-i", *HOST_OIDS)


def sysctl_datasets(pool: str) -> Argv:
    """sysctl(8): every dataset's kstats of one pool (kstat.zfs.POOL.dataset.objset-ID.*)."""
    return ("sysctl", "-i", f"kstat.zfs.{pool}.dataset")


# ---- parsers ------------------------------------------------------------------------------

class ProcUsage(NamedTuple):
    cpu_seconds: float
    rss_bytes: int
    pcpu: float


class IfCounters(NamedTuple):
    in_octets: int
    in_packets: int
    in_errors: int
    in_discards: int
    out_octets: int
    out_packets: int
    out_errors: int


@dataclass(frozen=True)
class PoolUsage:
    size: int
    allocated: int
    free: int
    fragmentation: int | None  # percent; None where zpool prints "-"
    capacity: int
    health: str


class DatasetIo(NamedTuple):
    reads: int
    writes: int
    nread: int
    nwritten: int


def cpu_time(text: str) -> float:
    """ps(1)'s `time`: [days-][hours:]minutes:seconds.hundredths, as seconds."""
    days, _, rest = text.rpartition("-")
    parts = rest.split(":")
    seconds = float(parts[-1])
    for i, part in enumerate(reversed(parts[:-1])):
        seconds += int(part) * 60 ** (i + 1)
    return seconds + (int(days) * 86400 if days else 0)


def parse_ps_usage(text: str) -> dict[int, ProcUsage]:
    out: dict[int, ProcUsage] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 4:
            continue
        pid, time_, rss, pcpu = fields
        out[int(pid)] = ProcUsage(cpu_time(time_), int(rss) * 1024, float(pcpu))
    return out


def parse_rctl_usage(text: str) -> dict[str, int]:
    """`resource=amount` lines; cputime in seconds, memory in bytes, rates per second."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and value.isdigit():
            out[key] = int(value)
    return out


# netstat's names for IfCounters' fields, in their order.
_NETSTAT_FIELDS = ("received-bytes", "received-packets", "received-errors", "dropped-packets",
                   "sent-bytes", "sent-packets", "send-errors")


def parse_netstat(text: str) -> dict[str, IfCounters]:
    """The link-level row of each interface (netstat lists one row per address as well)."""
    doc = json.loads(text)
    out: dict[str, IfCounters] = {}
    for row in doc.get("statistics", {}).get("interface", []):
        if not str(row.get("network", "")).startswith("<Link#"):
            continue
        name = str(row["name"]).rstrip("*")  # a `*` marks an interface that is down
        missing = [key for key in _NETSTAT_FIELDS if key not in row]
        if missing:  # other field names than hvd knows: say so rather than report zeros
            raise ValueError(f"netstat printed no {', '.join(missing)} for {name}")
        out[name] = IfCounters(*(int(row[key]) for key in _NETSTAT_FIELDS))
    return out


def parse_zpool_list(text: str) -> dict[str, PoolUsage]:
    out: dict[str, PoolUsage] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 7:
            continue
        name, size, alloc, free, frag, cap, health = fields
        out[name] = PoolUsage(int(size), int(alloc), int(free),
                              int(frag) if frag.isdigit() else None, int(cap), health)
    return out


def parse_sysctl(text: str) -> dict[str, str]:
    """`name: value` lines (the value may hold spaces, as vm.loadavg's `{ 0.1 0.2 0.3 }`)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep:
            out[name] = value.strip()
    return out


def load_average(value: str) -> tuple[float, float, float] | None:
    found = re.findall(r"[0-9]+(?:\.[0-9]+)?", value)
    if len(found) != 3:
        return None
    return float(found[0]), float(found[1]), float(found[2])


def parse_dataset_kstats(text: str) -> dict[str, DatasetIo]:
    """dataset name -> its I/O counters, from `kstat.zfs.POOL.dataset.objset-ID.FIELD: V`."""
    by_objset: dict[str, dict[str, str]] = {}
    for name, value in parse_sysctl(text).items():
        objset, _, field_ = name.rpartition(".")
        by_objset.setdefault(objset, {})[field_] = value
    out: dict[str, DatasetIo] = {}
    for fields in by_objset.values():
        dataset = fields.get("dataset_name")
        if not dataset:
            continue
        out[dataset] = DatasetIo(*(int(fields.get(k, "0") or 0)
                                   for k in ("reads", "writes", "nread", "nwritten")))
    return out
