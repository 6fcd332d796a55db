"""The statistics sources as the sim answers them (host/stats.py builds the argv).

Guest figures are real: the stand-in guest's CPU time and resident memory as Linux reports them
in /proc. Interface and disk counters are the bytes a test (or the stand-in) pushed through the
sim with `count_traffic` / `count_io`; they live in ROOT/.sim/counters.json beside the state,
not in its command log, since pushing bytes is not a host command. rctl refuses as rctl does on
a host booted without racct (kern.racct.enable=0, docs/freebsd-facts.md §17), and keeps a rule
table for `rctl -a`/`-r` whose process rules end with their process (§18).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hvd_netconf.host.sim.commands import Fail, State, unknown
from hvd_netconf.host.sim.sysctl import DEFAULT_SYSCTLS
from hvd_netconf.host.stats import HOST_OIDS, RACCT_DISABLED


def _alive(pid: int) -> bool:
    """A process that has not exited (a zombie has: its rules are gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(") ")[2][:1] not in ("Z", "X", "")


_RULE = re.compile(r"process:([0-9]+):(pcpu|memoryuse):deny=([0-9]+)")

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_IF_KEYS = ("received-packets", "received-errors", "dropped-packets", "received-bytes",
            "sent-packets", "send-errors", "sent-bytes")
_IO_KEYS = ("reads", "writes", "nread", "nwritten")


def _proc(pid: int) -> dict[str, float] | None:
    """CPU seconds, resident bytes and seconds alive of a Linux process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    rest = stat.rpartition(")")[2].split()  # fields from the 3rd on: the name may hold blanks
    cpu = (int(rest[11]) + int(rest[12])) / _TICKS
    alive = max(uptime - int(rest[19]) / _TICKS, 1e-3)
    return {"cpu": cpu, "rss": int(rest[21]) * _PAGE, "alive": alive}


def _ps_time(seconds: float) -> str:
    """ps(1)'s `time` format: minutes:seconds.hundredths."""
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:05.2f}"


class Stats:
    """ps, rctl -u, netstat -i, zpool list and sysctl -i (a part of SimHost)."""

    dir: Path
    _st: State

    if TYPE_CHECKING:  # provided by SimHost and Vmm
        def _locked(self) -> contextlib.AbstractContextManager[None]: ...
        def _command(self, pid: int) -> str | None: ...
        def zvol_file(self, dataset: str) -> Path: ...

    # ---- what tests push through the sim ----

    @contextlib.contextmanager
    def _counters(self) -> Iterator[dict[str, Any]]:
        path = self.dir / "counters.json"
        with self._locked():
            try:
                data: dict[str, Any] = json.loads(path.read_text())
            except FileNotFoundError:
                data = {}
            yield data
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(path)

    def count_traffic(self, iface: str, *, rx_bytes: int = 0, tx_bytes: int = 0,
                      rx_packets: int = 0, tx_packets: int = 0, rx_drops: int = 0) -> None:
        """Bytes through a simulated interface: what the guest sent arrives on the host side
        of its tap (`received`), what reaches the guest leaves it (`sent`)."""
        with self._counters() as data:
            c = data.setdefault("if", {}).setdefault(iface, dict.fromkeys(_IF_KEYS, 0))
            c["received-bytes"] += rx_bytes
            c["sent-bytes"] += tx_bytes
            c["received-packets"] += rx_packets
            c["sent-packets"] += tx_packets
            c["dropped-packets"] += rx_drops

    def count_io(self, dataset: str, *, read: int = 0, written: int = 0) -> None:
        """Guest disk I/O: written bytes go into the zvol's stand-in file, read ones are read
        back from it, and the dataset's kstats count both (one operation each)."""
        path = self.zvol_file(dataset)
        if written:
            with open(path, "r+b") as f:
                f.write(os.urandom(written))
        if read:
            with open(path, "rb") as f:
                f.read(read)
        with self._counters() as data:
            c = data.setdefault("io", {}).setdefault(dataset, dict.fromkeys(_IO_KEYS, 0))
            c["reads"] += 1 if read else 0
            c["writes"] += 1 if written else 0
            c["nread"] += read
            c["nwritten"] += written

    def _read_counters(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads((self.dir / "counters.json").read_text())
        except FileNotFoundError:
            return {}
        return data

    # ---- the commands ----

    def _guest_pids(self, st: State) -> set[int]:
        return {e["pid"] for e in st["vmm"].values() if e.get("pid")}

    def _ps_usage(self, st: State, pids: str, out: list[str], argv: tuple[str, ...]) -> None:
        """`ps -o pid=,time=,rss=,pcpu= -p PIDS`: the stand-ins among PIDS; ps exits 1 when
        none of them is a process (of the simulated host)."""
        wanted = {int(p) for p in pids.split(",") if p.isdigit()}
        shown = 0
        for pid in sorted(wanted & self._guest_pids(st)):
            usage = _proc(pid) if self._command(pid) is not None else None
            if usage is None:
                continue
            pcpu = 100.0 * usage["cpu"] / usage["alive"]
            out.append(f"{pid:5d} {_ps_time(usage['cpu']):>9} {usage['rss'] // 1024:6d} "
                       f"{pcpu:4.1f}\n")
            shown += 1
        if not shown:
            raise Fail("", 1)

    def _live_rules(self, st: State) -> list[str]:
        """The rule table, without the rules of processes gone (they end with the process)."""
        st["rctl"] = [r for r in st.get("rctl", []) if _alive(int(r.split(":")[1]))]
        return list(st["rctl"])

    def _rctl(self, st: State, args: tuple[str, ...], out: list[str],
              argv: tuple[str, ...]) -> None:
        if self._sysctl_value(st, "kern.racct.enable") != "1":
            raise Fail(f"rctl: {RACCT_DISABLED}")
        if not args:
            out.append("".join(r + "\n" for r in self._live_rules(st)))
            return
        if len(args) == 2 and args[0] == "-a":
            self._rctl_add(st, args[1])
            return
        if len(args) == 2 and args[0] == "-r":
            rules = self._live_rules(st)
            kept = [r for r in rules if not (r + ":").startswith(args[1] + ":")
                    and not r.startswith(args[1] + ":")]
            if len(kept) == len(rules):
                raise Fail(f"rctl: failed to remove rules for '{args[1]}': No such process")
            st["rctl"] = kept
            return
        if len(args) != 2 or args[0] != "-u" or not args[1].startswith("process:"):
            unknown(argv)
        pid_text = args[1].partition(":")[2]
        pid = int(pid_text) if pid_text.isdigit() else -1
        usage = (_proc(pid) if pid in self._guest_pids(st) and self._command(pid) is not None
                 else None)
        if usage is None:
            raise Fail(f"rctl: failed to show resource consumption for '{args[1]}': "
                       "No such process")
        amounts = {"cputime": int(usage["cpu"]), "memoryuse": int(usage["rss"]),
                   "memorylocked": 0, "wallclock": int(usage["alive"]),
                   "pcpu": int(100 * usage["cpu"] / usage["alive"]),
                   "readbps": 0, "writebps": 0, "readiops": 0, "writeiops": 0}
        out.append("".join(f"{k}={v}\n" for k, v in amounts.items()))

    def _rctl_add(self, st: State, rule: str) -> None:
        """rctl -a for the two forms hvd writes (process rules, deny); any other refused as
        rctl refuses a rule it cannot parse."""
        m = _RULE.fullmatch(rule)
        if m is None:
            raise Fail(f"rctl: failed to add rule '{rule}': Invalid argument")
        pid = int(m.group(1))
        rules = self._live_rules(st)
        if not _alive(pid):  # any live process, as the kernel's rctl takes
            raise Fail(f"rctl: failed to add rule '{rule}': No such process")
        same = rule.rpartition("=")[0]  # one rule per subject, resource and action
        st["rctl"] = [r for r in rules if r.rpartition("=")[0] != same] + [rule]

    def _netstat(self, st: State, args: tuple[str, ...], out: list[str],
                 argv: tuple[str, ...]) -> None:
        if args != ("-i", "-b", "-n", "--libxo", "json"):
            unknown(argv)
        counters = self._read_counters().get("if", {})
        rows = []
        for index, (name, me) in enumerate(sorted(st["interfaces"].items()), start=1):
            c = counters.get(name, dict.fromkeys(_IF_KEYS, 0))
            rows.append({"name": name if me.get("up") else f"{name}*", "flags": "0x8843",
                         "mtu": me.get("mtu", 1500), "network": f"<Link#{index}>",
                         "address": "", **c, "collisions": 0})
        out.append(json.dumps({"statistics": {"interface": rows}}) + "\n")

    def _zpool(self, st: State, args: tuple[str, ...], out: list[str],
               argv: tuple[str, ...]) -> None:
        if args != ("list", "-Hp", "-o", "name,size,allocated,free,fragmentation,capacity,"
                    "health"):
            unknown(argv)
        for pool, size in sorted(st.get("pool-size", {}).items()):
            alloc = sum(int(ds["props"].get("refreservation", 0)) or self._used(name)
                        for name, ds in st["datasets"].items()
                        if name.split("/")[0] == pool and ds["type"] == "volume")
            alloc = min(alloc, size)
            out.append(f"{pool}\t{size}\t{alloc}\t{size - alloc}\t0\t{alloc * 100 // size}"
                       "\tONLINE\n")

    def _used(self, dataset: str) -> int:
        """What a sparse zvol's stand-in file holds on disk."""
        try:
            return self.zvol_file(dataset).stat().st_blocks * 512
        except FileNotFoundError:
            return 0

    def _sysctl_value(self, st: State, name: str) -> str | None:
        if name == "vm.loadavg":
            one, five, fifteen = os.getloadavg()  # of the machine the sim runs on
            return f"{{ {one:.2f} {five:.2f} {fifteen:.2f} }}"
        value = st["sysctl"].get(name, DEFAULT_SYSCTLS.get(name))
        return None if value is None else str(value)

    def _sysctl_list(self, st: State, names: tuple[str, ...], out: list[str],
                     argv: tuple[str, ...]) -> None:
        """`sysctl -i NAME...`: `name: value` lines, unknown OIDs left out."""
        for name in names:
            pool, _, rest = name.removeprefix("kstat.zfs.").partition(".")
            if name.startswith("kstat.zfs.") and rest == "dataset":
                self._kstats(st, pool, out)
                continue
            if name not in HOST_OIDS and name not in st["sysctl"]:
                continue
            value = self._sysctl_value(st, name)
            if value is not None:
                out.append(f"{name}: {value}\n")

    def _kstats(self, st: State, pool: str, out: list[str]) -> None:
        io = self._read_counters().get("io", {})
        for name, ds in sorted(st["datasets"].items()):
            if name.split("/")[0] != pool or "@" in name:
                continue
            oid = f"kstat.zfs.{pool}.dataset.objset-0x{zlib.crc32(name.encode()):x}"
            c = io.get(name, dict.fromkeys(_IO_KEYS, 0)) if ds["type"] == "volume" else \
                dict.fromkeys(_IO_KEYS, 0)
            out.append(f"{oid}.dataset_name: {name}\n")
            out.extend(f"{oid}.{k}: {c[k]}\n" for k in _IO_KEYS)
