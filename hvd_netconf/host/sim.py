"""A simulated FreeBSD host for Linux: interprets the very argv lists the freebsd backend runs.

It refuses what FreeBSD refuses, with FreeBSD-like stderr and exit status, and fails loudly on
any command it does not know: a simulation that pretends would hide bugs. Injected faults live
in ROOT/.sim/faults.json, apart from the host state, so a test can compare the host state.

The state is kept in memory and on disk as a snapshot, ROOT/.sim/host.json, plus an
append-only log, ROOT/.sim/host.log: one JSON line per command that can change the state
(`{"seq": n, "run": argv}`, `{"seq": n, "spawn": vm, "pid": pid}`), appended after the
command ran and before it returns. So a command costs one short append, not a rewrite of the
whole host, and the state is the snapshot (whose `seq` says how many logged commands it holds)
with the later log lines replayed through the same interpreter. Once the log outgrows the
snapshot, a new snapshot is written (temp file, fsync, rename) and the log emptied: the cost
of that is amortized over the commands logged since. Replay touches no file outside .sim: the
zvol files already are as the commands left them.

Several processes (hvd, a test, hv) may open one host: every command holds an flock, and an
instance that finds the snapshot replaced or the log grown reads what changed first.

A crash of hvd mid-commit leaves exactly the commands that returned (and possibly the one
running, as on a real host): the log is written before a command returns, and the page cache
keeps it. The log is not fsynced: a power loss can forget the last commands of the simulated
host, which stands in for a host and holds nothing of value beyond a test run.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.names import MAX_IFNAME

log = logging.getLogger("hvd.host.sim")

State = dict[str, Any]

DEFAULT_PHYSICAL = ("em0", "em1")
DEFAULT_POOLS = ("zroot",)
DEFAULT_SYSCTLS = {
    "net.fibs": "4",
    "hw.vmm.maxcpu": "16",
    "net.link.tap.up_on_open": "1",
    "kern.ostype": "FreeBSD",
}
DEFAULT_VOLBLOCKSIZE = 16 * 1024
COMPACT_AT = 1 << 20  # bytes of log before a new snapshot, unless the snapshot is larger
CLONERS = ("bridge", "tap", "vlan")

_DS_COMPONENT = re.compile(r"[A-Za-z0-9_.:\- ]+")
_NATIVE_PROPS = {
    "mountpoint", "volmode", "compression", "refreservation", "canmount", "volsize",
    "volblocksize", "readonly", "atime",
}
_SIZE = re.compile(r"([0-9]+)([KMGTP]?)")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def _reads_only(argv: tuple[str, ...]) -> bool:
    """Commands that change no state (reads, probes, and bhyvectl's force-poweroff/reset,
    which only signal the stand-in guest): they are not logged, so replay never repeats a
    signal. Anything else is logged, even when it fails: it may have done part of its work."""
    prog, args = (os.path.basename(argv[0]), argv[1:]) if argv else ("", ())
    if prog == "zfs":
        return args[:1] in (("get",), ("list",))
    if prog == "ifconfig":
        return len(args) < 2 or args[0] == "-g"
    if prog == "bhyvectl":
        return not {"--create", "--destroy"} & set(args)
    return prog == "sysctl"


class _Fail(Exception):
    def __init__(self, stderr: str, code: int = 1) -> None:
        super().__init__(stderr)
        self.stderr = stderr if stderr.endswith("\n") else stderr + "\n"
        self.code = code


def _size(text: str) -> int | None:
    m = _SIZE.fullmatch(text.strip().upper())
    return int(m.group(1)) * _UNITS[m.group(2)] if m else None


class SimHost:
    """The simulated host: each command runs under the flock on the in-memory state, caught
    up with the files first, and is logged when it can change that state."""

    name = "sim"
    simulated = True

    def __init__(
        self,
        root: Path,
        *,
        physical: Sequence[str] = DEFAULT_PHYSICAL,
        pools: Sequence[str] = DEFAULT_POOLS,
        sysctls: dict[str, str] | None = None,
    ) -> None:
        self.dir = Path(root) / ".sim"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.state_path = self.dir / "host.json"
        self.log_path = self.dir / "host.log"
        self.faults_path = self.dir / "faults.json"
        self.zvol_dir = self.dir / "zvol"
        self._lock_path = self.dir / "lock"
        self._st: State = {}
        self._seq = 0  # logged commands the in-memory state holds
        self._snapshot: tuple[int, int, int] | None = None  # (inode, mtime, size) it came from
        self._offset = 0  # bytes of the log replayed
        self._log_size = 0  # bytes in the log when last looked at (more: a torn last line)
        self._replaying = False
        self._kids: dict[str, set[str]] = {}  # dataset -> its children, derived from _st
        with self._locked():
            if not self.state_path.exists():
                self._st = {
                    "datasets": {p: {"type": "filesystem", "props": {}} for p in pools},
                    "interfaces": {
                        n: {"kind": "physical", "mtu": 1500, "fib": 0, "descr": None,
                            "groups": [], "up": True, "members": [], "vlandev": None,
                            "vlan": None}
                        for n in (*physical, "lo0")
                    },
                    "sysctl": {**DEFAULT_SYSCTLS, **(sysctls or {})},
                    "vmm": {},
                }
                for pool in pools:
                    self._adopt(pool)
                self._compact()
            self._refresh()

    def firmware_dir(self) -> Path:
        """Where the simulated bhyve-firmware package keeps its UEFI images: placeholder files
        that say what they are, so a UEFI guest's start sequence runs on Linux."""
        fw = self.dir / "uefi-firmware"
        fw.mkdir(exist_ok=True)
        for name in ("BHYVE_UEFI.fd", "BHYVE_UEFI_CODE.fd", "BHYVE_UEFI_VARS.fd"):
            path = fw / name
            if not path.exists():
                path.write_text(f"simulated {name}: a placeholder, not firmware\n")
        return fw

    # -- persistence -------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self._lock_path, "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_snapshot(self) -> None:
        with open(self.state_path, "rb") as f:
            st = os.fstat(f.fileno())
            data = json.loads(f.read())
        self._seq = data.pop("seq", 0)
        self._st = data
        self._kids = {}
        for name in data["datasets"]:
            self._adopt(name)
        self._snapshot = (st.st_ino, st.st_mtime_ns, st.st_size)
        self._offset = 0

    def _refresh(self) -> None:
        """Catch up with what other instances did: a new snapshot, then new log lines."""
        st = self.state_path.stat()
        if self._snapshot != (st.st_ino, st.st_mtime_ns, st.st_size):
            self._read_snapshot()
        try:
            size = self.log_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self._offset:  # emptied by a compaction whose snapshot we have not read
            self._read_snapshot()
        if size > self._offset:
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            self._offset += self._replay(data)
        self._log_size = size

    def _replay(self, data: bytes) -> int:
        """Apply the whole log lines in data; return how many bytes they take. A torn or bad
        line ends the log: it was being written when its writer died, so its command had not
        returned. Lines the snapshot already holds (left by a crash amid a compaction) are
        skipped."""
        pos = 0
        while (end := data.find(b"\n", pos)) >= 0:
            try:
                entry = json.loads(data[pos:end])
                seq = entry["seq"]
            except (ValueError, KeyError, TypeError):
                break
            if seq > self._seq + 1:
                break
            if seq == self._seq + 1:
                self._apply(entry)
                self._seq = seq
            pos = end + 1
        return pos

    def _apply(self, entry: dict[str, Any]) -> None:
        if "spawn" in entry:
            self._st["vmm"][entry["spawn"]] = {"pid": entry["pid"]}
            return
        self._replaying = True
        try:
            self._dispatch(self._st, tuple(entry["run"]), [])
        except _Fail:
            pass  # it failed the same way when it ran; what it did before failing is redone
        finally:
            self._replaying = False

    def _log(self, entry: dict[str, Any]) -> None:
        """Append one command to the log (no fsync: see the module docstring)."""
        if self._log_size > self._offset:  # a torn last line from a crashed writer
            os.truncate(self.log_path, self._offset)
        self._seq += 1
        line = json.dumps({"seq": self._seq, **entry}).encode() + b"\n"
        with open(self.log_path, "ab") as f:
            f.write(line)
        self._offset += len(line)
        self._log_size = self._offset
        if self._offset > max(COMPACT_AT, self._snapshot[2] if self._snapshot else 0):
            self._compact()

    def _compact(self) -> None:
        """Write the state as the new snapshot and empty the log. A crash between the two
        leaves log lines the snapshot holds, which replay skips by their seq."""
        self._write(self.state_path, {**self._st, "seq": self._seq})
        st = self.state_path.stat()
        self._snapshot = (st.st_ino, st.st_mtime_ns, st.st_size)
        with open(self.log_path, "wb"):
            pass
        self._offset = self._log_size = 0

    def _write(self, path: Path, data: object) -> None:
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def state(self) -> State:
        """A copy of the simulated host state (for tests and diagnostics)."""
        with self._locked():
            self._refresh()
            return json.loads(json.dumps(self._st))

    # -- fault injection ---------------------------------------------------------------

    def inject_fault(
        self, argv_prefix: Sequence[str], stderr: str, code: int = 1, once: bool = True
    ) -> None:
        """The next command starting with argv_prefix fails (persisted: other processes see it)."""
        with self._locked():
            faults = self._faults()
            faults.append({"prefix": list(argv_prefix), "stderr": stderr, "code": code,
                           "once": once})
            self._write(self.faults_path, faults)

    def clear_faults(self) -> None:
        with self._locked():
            self._write(self.faults_path, [])

    def _faults(self) -> list[dict[str, Any]]:
        if not self.faults_path.exists():
            return []
        return json.loads(self.faults_path.read_text())

    def _take_fault(self, argv: tuple[str, ...]) -> dict[str, Any] | None:
        faults = self._faults()
        for i, f in enumerate(faults):
            if tuple(f["prefix"]) == argv[: len(f["prefix"])]:
                if f["once"]:
                    del faults[i]
                    self._write(self.faults_path, faults)
                return f
        return None

    # -- the Host interface ------------------------------------------------------------

    def run(self, argv: Sequence[str]) -> str:
        argv = tuple(argv)
        with self._locked():
            fault = self._take_fault(argv)
            if fault is not None:
                log.info("sim: injected fault for %s", argv)
                raise CommandFailed(argv, fault["code"], fault["stderr"])
            self._refresh()
            out: list[str] = []
            try:
                self._dispatch(self._st, argv, out)
            except _Fail as e:
                # Commands are applied step by step, like ifconfig's parameter list: what ran
                # before the failing part stays done, as on FreeBSD.
                if not _reads_only(argv):
                    self._log({"run": list(argv)})
                raise CommandFailed(argv, e.code, e.stderr) from None
            except BaseException:
                self._snapshot = None  # a half-done change in memory: reread it all next time
                raise
            if not _reads_only(argv):
                self._log({"run": list(argv)})
            return "".join(out)

    def spawn(self, argv: Sequence[str], *, log_path: Path) -> subprocess.Popen[bytes]:
        """Start the stand-in guest instead of bhyve; the VM instance appears in /dev/vmm."""
        argv = tuple(argv)
        vm = argv[-1]
        with self._locked():
            self._refresh()
            with open(log_path, "ab") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "hvd_netconf.supervisor.standin", *argv],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                    start_new_session=True,
                )
            self._st["vmm"][vm] = {"pid": proc.pid}
            self._log({"spawn": vm, "pid": proc.pid})
        log.info("sim: started stand-in guest for %s (pid %d); no real VM runs", vm, proc.pid)
        return proc

    def vmm_instances(self) -> set[str]:
        with self._locked():
            self._refresh()
            return set(self._st["vmm"])

    def process_matches(self, pid: int, vm: str) -> bool:
        """A live stand-in (not a zombie: its cmdline is then empty) whose argv names vm."""
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        args = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        try:
            i = args.index("hvd_netconf.supervisor.standin")
        except ValueError:
            return False
        rest = args[i + 1:]
        return len(rest) >= 2 and os.path.basename(rest[0]) == "bhyve" and rest[-1] == vm

    def sysctl(self, name: str) -> str:
        return self.run(("sysctl", "-n", name)).strip()

    def zvol_file(self, dataset: str) -> Path:
        """The sparse file standing in for /dev/zvol/<dataset>."""
        return self.zvol_dir / dataset

    # -- interpretation ----------------------------------------------------------------

    def _dispatch(self, st: State, argv: tuple[str, ...], out: list[str]) -> None:
        prog = os.path.basename(argv[0]) if argv else ""
        handler = {
            "zfs": self._zfs, "ifconfig": self._ifconfig, "sysctl": self._sysctl,
            "bhyvectl": self._bhyvectl,
        }.get(prog)
        if handler is None:
            self._unknown(argv)
        handler(st, argv[1:], out, argv)

    @staticmethod
    def _unknown(argv: tuple[str, ...]) -> None:
        log.error("sim: command not simulated: %s", argv)
        raise _Fail(f"hvd sim: command not simulated: {' '.join(argv)}", 127)

    # zfs ----------------------------------------------------------------------------

    def _zfs(self, st: State, args: tuple[str, ...], out: list[str], argv: tuple[str, ...]) -> None:
        sub = args[0] if args else ""
        fn = {
            "create": self._zfs_create, "destroy": self._zfs_destroy, "set": self._zfs_set,
            "inherit": self._zfs_inherit, "get": self._zfs_get, "list": self._zfs_list,
        }.get(sub)
        if fn is None:
            self._unknown(argv)
        fn(st, list(args[1:]), out, argv)

    @staticmethod
    def _check_name(verb: str, name: str) -> None:
        if name.startswith("/"):
            raise _Fail(f"cannot {verb} '{name}': leading slash in name")
        if any(not c for c in name.split("/")):
            raise _Fail(f"cannot {verb} '{name}': empty component or misplaced '@' or '#' "
                        "delimiter in name")
        for comp in name.split("/"):
            if not _DS_COMPONENT.fullmatch(comp):
                bad = next(c for c in comp if not _DS_COMPONENT.fullmatch(c))
                raise _Fail(f"cannot {verb} '{name}': invalid character '{bad}' in name")

    @staticmethod
    def _ds(st: State, name: str, verb: str = "open") -> dict[str, Any]:
        ds = st["datasets"].get(name)
        if ds is None:
            raise _Fail(f"cannot {verb} '{name}': dataset does not exist")
        return ds

    @staticmethod
    def _parse_opts(
        args: list[str], flags: str, with_value: str, argv: tuple[str, ...]
    ) -> tuple[set[str], dict[str, list[str]], list[str]]:
        seen: set[str] = set()
        values: dict[str, list[str]] = {}
        i = 0
        while i < len(args) and args[i].startswith("-") and len(args[i]) > 1:
            for j, ch in enumerate(args[i][1:]):
                if ch in flags:
                    seen.add(ch)
                elif ch in with_value:
                    rest = args[i][2 + j:]
                    if rest:
                        values.setdefault(ch, []).append(rest)
                    else:
                        i += 1
                        if i >= len(args):
                            raise _Fail(f"missing argument for '-{ch}' option", 2)
                        values.setdefault(ch, []).append(args[i])
                    break
                else:
                    raise _Fail(f"invalid option '{ch}'\nusage: {' '.join(argv[:2])} ...", 2)
            i += 1
        return seen, values, args[i:]

    def _zfs_create(self, st: State, args: list[str], out: list[str],
                    argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "ps", "Vbo", argv)
        if len(rest) != 1:
            raise _Fail("missing filesystem argument" if not rest else "too many arguments", 2)
        name = rest[0]
        self._check_name("create", name)
        props: dict[str, str] = {}
        for kv in vals.get("o", []):
            key, sep, value = kv.partition("=")
            if not sep:
                raise _Fail(f"missing '=' for property=value argument '{kv}'", 2)
            if ":" not in key and key not in _NATIVE_PROPS:
                raise _Fail(f"cannot create '{name}': invalid property '{key}'")
            props[key] = value
        volume = "V" in vals
        if "s" in flags and not volume:
            raise _Fail("'-s' and '-b' can only be used when creating a volume", 2)
        if "b" in vals and not volume:
            raise _Fail("'-s' and '-b' can only be used when creating a volume", 2)
        dsets = st["datasets"]
        if name in dsets:
            if "p" in flags:
                return
            raise _Fail(f"cannot create '{name}': dataset already exists")
        pool = name.split("/")[0]
        if pool not in dsets:
            raise _Fail(f"cannot create '{name}': no such pool '{pool}'")
        parent = name.rpartition("/")[0]
        missing: list[str] = []
        while parent and parent not in dsets:
            missing.append(parent)
            parent = parent.rpartition("/")[0]
        if missing and "p" not in flags:
            raise _Fail(f"cannot create '{name}': parent does not exist")
        if dsets[parent]["type"] != "filesystem":
            raise _Fail(f"cannot create '{name}': parent is not a filesystem")
        new: dict[str, Any] = {"type": "filesystem", "props": props}
        if volume:
            size = _size(vals["V"][-1])
            bs = _size(vals["b"][-1]) if "b" in vals else DEFAULT_VOLBLOCKSIZE
            if size is None or size == 0:
                raise _Fail(f"bad volume size '{vals['V'][-1]}'", 2)
            if bs is None or bs & (bs - 1) or not 512 <= bs <= 128 * 1024:
                raise _Fail(f"cannot create '{name}': invalid volblocksize")
            if size % bs:
                raise _Fail(f"cannot create '{name}': volume size must be a multiple of "
                            "volume block size")
            props.setdefault("volmode", "default")
            new = {"type": "volume", "props": {**props, "volsize": str(size),
                                               "volblocksize": str(bs)}}
            if "s" not in flags:
                new["props"].setdefault("refreservation", str(size))
        for m in reversed(missing):
            dsets[m] = {"type": "filesystem", "props": {}}
            self._adopt(m)
        dsets[name] = new
        self._adopt(name)
        if volume:
            self._resize_zvol(name, size)

    def _adopt(self, name: str) -> None:
        """Index a new dataset under its parent: -r costs its subtree, not the whole pool."""
        self._kids.setdefault(name.rpartition("/")[0], set()).add(name)

    def _descendants(self, name: str) -> list[str]:
        out: list[str] = []
        todo = [name]
        while todo:
            kids = self._kids.get(todo.pop(), ())
            out += kids
            todo += kids
        return sorted(out)

    def _resize_zvol(self, name: str, size: int) -> None:
        if self._replaying:
            return
        path = self.zvol_file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            f.truncate(size)

    def _zfs_destroy(self, st: State, args: list[str], out: list[str],
                     argv: tuple[str, ...]) -> None:
        flags, _vals, rest = self._parse_opts(args, "rRf", "", argv)
        if len(rest) != 1:
            raise _Fail("missing dataset argument" if not rest else "too many arguments", 2)
        name = rest[0]
        self._check_name("open", name)
        self._ds(st, name)
        children = self._descendants(name)
        if children and not flags & {"r", "R"}:
            raise _Fail(f"cannot destroy '{name}': filesystem has children\n"
                        "use '-r' to destroy the following datasets:\n" + "\n".join(children))
        if "/" not in name:
            raise _Fail(f"cannot destroy '{name}': operation does not apply to pools\n"
                        "use 'zfs destroy -r' to destroy all datasets in the pool\n"
                        "use 'zpool destroy' to destroy the pool itself")
        self._kids[name.rpartition("/")[0]].discard(name)
        for d in [*children, name]:
            self._kids.pop(d, None)
            if st["datasets"].pop(d)["type"] == "volume" and not self._replaying:
                self.zvol_file(d).unlink(missing_ok=True)

    def _zfs_set(self, st: State, args: list[str], out: list[str],
                 argv: tuple[str, ...]) -> None:
        if len(args) < 2 or "=" not in args[0]:
            raise _Fail("missing property=value argument(s)\nusage: zfs set ...", 2)
        key, _, value = args[0].partition("=")
        for name in args[1:]:
            self._check_name("open", name)
            ds = self._ds(st, name)
            if key not in _NATIVE_PROPS and ":" not in key:
                raise _Fail(f"cannot set property for '{name}': invalid property '{key}'")
            if key == "volblocksize":
                raise _Fail(f"cannot set property for '{name}': 'volblocksize' is readonly")
            if key == "volsize":
                if ds["type"] != "volume":
                    raise _Fail(f"cannot set property for '{name}': 'volsize' does not apply "
                                "to datasets of this type")
                size = _size(value)
                if not size:
                    raise _Fail(f"cannot set property for '{name}': bad numeric value "
                                f"'{value}'")
                if size % int(ds["props"]["volblocksize"]):
                    raise _Fail(f"cannot set property for '{name}': 'volsize' must be a "
                                "multiple of volume block size")
                value = str(size)
                self._resize_zvol(name, size)
            ds["props"][key] = value

    def _zfs_inherit(self, st: State, args: list[str], out: list[str],
                     argv: tuple[str, ...]) -> None:
        if len(args) != 2:
            raise _Fail("usage: zfs inherit [-rS] <property> <filesystem|volume|snapshot> ...", 2)
        prop, name = args
        self._check_name("open", name)
        self._ds(st, name)["props"].pop(prop, None)

    def _value(self, st: State, name: str, prop: str, local_only: bool) -> tuple[str, str]:
        """(value, source) of one property, following inheritance for user properties."""
        ds = st["datasets"][name]
        if prop == "name":
            return name, "-"
        if prop == "type":
            return ds["type"], "-"
        if prop in ds["props"]:
            return ds["props"][prop], "local"
        if local_only:
            return "-", "-"
        if ":" in prop or prop == "mountpoint":
            parent = name.rpartition("/")[0]
            while parent:
                pprops = st["datasets"][parent]["props"]
                if prop in pprops:
                    if prop == "mountpoint":
                        if ds["type"] == "volume":
                            return "-", "-"
                        return pprops[prop].rstrip("/") + name[len(parent):], "inherited"
                    return pprops[prop], f"inherited from {parent}"
                parent = parent.rpartition("/")[0]
            if prop == "mountpoint" and ds["type"] == "filesystem":
                return "/" + name, "default"
        return "-", "-"

    def _zfs_get(self, st: State, args: list[str], out: list[str],
                 argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "Hp", "so", argv)
        if "H" not in flags or len(rest) != 2:
            self._unknown(argv)
        props, name = rest[0].split(","), rest[1]
        self._check_name("open", name)
        self._ds(st, name)
        sources = ",".join(vals.get("s", [])).split(",") if "s" in vals else None
        cols = ",".join(vals.get("o", ["name,property,value,source"])).split(",")
        for prop in props:
            value, source = self._value(st, name, prop, sources == ["local"])
            if sources is not None and sources != ["local"]:
                self._unknown(argv)
            row = {"name": name, "property": prop, "value": value, "source": source}
            out.append("\t".join(row[c] for c in cols) + "\n")

    def _zfs_list(self, st: State, args: list[str], out: list[str],
                  argv: tuple[str, ...]) -> None:
        flags, vals, rest = self._parse_opts(args, "Hpr", "to", argv)
        types = ",".join(vals.get("t", ["filesystem,volume"])).split(",")
        cols = ",".join(vals.get("o", ["name"])).split(",")
        names: list[str] = []
        for root in rest or sorted(self._kids.get("", ())):
            self._check_name("open", root)
            self._ds(st, root)
            names.append(root)
            if "r" in flags or not rest:
                names += self._descendants(root)
        for name in sorted(set(names)):
            if st["datasets"][name]["type"] not in types:
                continue
            out.append("\t".join(self._value(st, name, c, False)[0] for c in cols) + "\n")

    # ifconfig -----------------------------------------------------------------------

    @staticmethod
    def _new_if(kind: str, mtu: int = 1500) -> dict[str, Any]:
        return {"kind": kind, "mtu": mtu, "fib": 0, "descr": None, "groups": [kind],
                "up": False, "members": [], "vlandev": None, "vlan": None}

    @staticmethod
    def _lowest_unit(st: State, family: str) -> str:
        unit = 0
        while f"{family}{unit}" in st["interfaces"]:
            unit += 1
        return f"{family}{unit}"

    def _ifconfig(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        if not args:
            self._unknown(argv)
        if args[0] == "-g" and len(args) == 2:
            for n in sorted(st["interfaces"]):
                if args[1] in st["interfaces"][n]["groups"]:
                    out.append(n + "\n")
            return
        if args[0].startswith("-"):
            self._unknown(argv)
        ifname, params = args[0], list(args[1:])
        if len(ifname) > MAX_IFNAME:
            raise _Fail(f"ifconfig: interface name '{ifname}' is too long")
        ifs = st["interfaces"]
        if params[:1] == ["create"]:
            params = params[1:]
            ifname = self._if_create(st, ifname, params)
            print_name = True
        else:
            print_name = False
            if ifname not in ifs:
                raise _Fail(f"ifconfig: interface {ifname} does not exist")
        i = 0
        while i < len(params):
            word = params[i]
            arg = params[i + 1] if i + 1 < len(params) else None
            i += 1
            if word in ("up", "down"):
                ifs[ifname]["up"] = word == "up"
                continue
            if word == "destroy":
                self._if_destroy(st, ifname)
                return
            if word == "-descr":
                ifs[ifname]["descr"] = None
                continue
            if arg is None:
                if word in ("addm", "deletem", "descr", "group", "-group", "fib", "mtu", "name",
                            "vlandev", "vlan"):
                    raise _Fail(f"ifconfig: missing argument for {word}")
                self._unknown(argv)
            i += 1
            if word == "name":
                ifname = self._if_rename(st, ifname, arg)
                print_name = True
            elif word == "descr":
                ifs[ifname]["descr"] = arg
            elif word == "group":
                if arg not in ifs[ifname]["groups"]:
                    ifs[ifname]["groups"] = sorted([*ifs[ifname]["groups"], arg])
            elif word == "-group":
                if arg in ifs[ifname]["groups"]:
                    ifs[ifname]["groups"].remove(arg)
            elif word == "fib":
                self._if_fib(st, ifname, arg)
            elif word == "mtu":
                self._if_mtu(st, ifname, arg)
            elif word == "addm":
                self._if_addm(st, ifname, arg)
            elif word == "deletem":
                self._if_deletem(st, ifname, arg)
            elif word in ("vlandev", "vlan"):
                raise _Fail("ifconfig: vlandev/vlan are set when the VLAN is created "
                            "(hvd sim does not re-parent VLANs)", 127)
            else:
                self._unknown(argv)
        if print_name:
            out.append(ifname + "\n")

    def _if_create(self, st: State, cloner: str, params: list[str]) -> str:
        ifs = st["interfaces"]
        family = cloner.rstrip("0123456789")
        dotted = re.fullmatch(r"([A-Za-z][A-Za-z0-9_-]*[0-9])\.([0-9]+)", cloner)
        if dotted:
            family = "vlan"
        elif family not in CLONERS:
            raise _Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): Invalid argument")
        if cloner in ifs:
            raise _Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): File exists")
        name = cloner if cloner != family else self._lowest_unit(st, family)
        if family == "vlan":
            dev, tag = (dotted.group(1), dotted.group(2)) if dotted else (None, None)
            for k, v in itertools.pairwise(params):
                if k == "vlandev":
                    dev = v
                elif k == "vlan":
                    tag = v
            if dev is None or tag is None:
                raise _Fail("ifconfig: both vlan and vlandev must be specified")
            if not tag.isdigit() or not 1 <= int(tag) <= 4094:
                raise _Fail(f"ifconfig: invalid vlan tag: {tag}")
            if dev not in ifs:
                raise _Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): No such file or directory")
            if any(i["vlandev"] == dev and i["vlan"] == int(tag) for i in ifs.values()):
                raise _Fail(f"ifconfig: SIOCIFCREATE2 ({cloner}): File exists")
            new = self._new_if("vlan", ifs[dev]["mtu"])
            new.update(vlandev=dev, vlan=int(tag))
            ifs[name] = new
            # vlandev/vlan were consumed by the create; drop them from the parameter list.
            for key in ("vlandev", "vlan"):
                if key in params:
                    j = params.index(key)
                    del params[j:j + 2]
        else:
            ifs[name] = self._new_if(family)
        return name

    @staticmethod
    def _if_rename(st: State, old: str, new: str) -> str:
        ifs = st["interfaces"]
        if len(new) > MAX_IFNAME:
            raise _Fail("ifconfig: ioctl SIOCSIFNAME (set name): File name too long")
        if new in ifs:
            raise _Fail("ifconfig: ioctl SIOCSIFNAME (set name): File exists")
        ifs[new] = ifs.pop(old)
        for i in ifs.values():
            i["members"] = [new if m == old else m for m in i["members"]]
            if i["vlandev"] == old:
                i["vlandev"] = new
        return new

    @staticmethod
    def _if_destroy(st: State, name: str) -> None:
        ifs = st["interfaces"]
        if ifs[name]["kind"] not in CLONERS:
            raise _Fail("ifconfig: SIOCIFDESTROY: Invalid argument")
        for child in [n for n, i in ifs.items() if i["vlandev"] == name]:
            ifs[child]["vlandev"] = None
        for i in ifs.values():
            if name in i["members"]:
                i["members"].remove(name)
        del ifs[name]

    @staticmethod
    def _if_fib(st: State, name: str, value: str) -> None:
        if not value.isdigit():
            raise _Fail(f"ifconfig: fib {value}: bad value")
        if int(value) >= int(st["sysctl"]["net.fibs"]):
            raise _Fail("ifconfig: ioctl (SIOCSIFFIB): Invalid argument")
        st["interfaces"][name]["fib"] = int(value)

    @staticmethod
    def _if_mtu(st: State, name: str, value: str) -> None:
        ifs = st["interfaces"]
        if not value.isdigit():
            raise _Fail(f"ifconfig: mtu {value}: bad value")
        mtu = int(value)
        me = ifs[name]
        bad = not 72 <= mtu <= 65535
        if me["kind"] == "bridge":
            bad = bad or mtu < 576 or any(ifs[m]["mtu"] != mtu for m in me["members"])
        if me["kind"] == "vlan" and me["vlandev"] is not None:
            bad = bad or mtu > ifs[me["vlandev"]]["mtu"]
        if me["kind"] == "physical":
            bad = bad or mtu > 9216
        if bad:
            raise _Fail("ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument")
        me["mtu"] = mtu

    @staticmethod
    def _if_addm(st: State, bridge: str, member: str) -> None:
        ifs = st["interfaces"]
        br = ifs[bridge]
        if br["kind"] != "bridge":
            raise _Fail(f"ifconfig: BRDGADD {member}: Inappropriate ioctl for device")
        if member not in ifs:
            raise _Fail(f"ifconfig: BRDGADD {member}: No such file or directory")
        if member in br["members"]:
            raise _Fail(f"ifconfig: BRDGADD {member}: File exists")
        if member == bridge or ifs[member]["kind"] == "bridge" or any(
            member in i["members"] for i in ifs.values()
        ):
            raise _Fail(f"ifconfig: BRDGADD {member}: Device busy")
        if br["members"] and ifs[member]["mtu"] != br["mtu"]:
            raise _Fail(f"ifconfig: BRDGADD {member}: Invalid argument")
        if not br["members"]:
            br["mtu"] = ifs[member]["mtu"]
        br["members"].append(member)

    @staticmethod
    def _if_deletem(st: State, bridge: str, member: str) -> None:
        br = st["interfaces"][bridge]
        if br["kind"] != "bridge":
            raise _Fail(f"ifconfig: BRDGDEL {member}: Inappropriate ioctl for device")
        if member not in br["members"]:
            raise _Fail(f"ifconfig: BRDGDEL {member}: No such file or directory")
        br["members"].remove(member)

    # sysctl, bhyvectl ---------------------------------------------------------------

    def _sysctl(self, st: State, args: tuple[str, ...], out: list[str],
                argv: tuple[str, ...]) -> None:
        if len(args) != 2 or args[0] != "-n":
            self._unknown(argv)
        name = args[1]
        if name not in st["sysctl"]:
            raise _Fail(f"sysctl: unknown oid '{name}'")
        out.append(st["sysctl"][name] + "\n")

    def _bhyvectl(self, st: State, args: tuple[str, ...], out: list[str],
                  argv: tuple[str, ...]) -> None:
        vm = next((a.partition("=")[2] for a in args if a.startswith("--vm=")), "")
        actions = [a for a in args if not a.startswith("--vm=")]
        if not vm or len(actions) != 1:
            self._unknown(argv)
        action = actions[0]
        if action == "--create":
            if vm in st["vmm"]:
                raise _Fail("vm_create: File exists")
            st["vmm"][vm] = {"pid": None}
            return
        if action not in ("--destroy", "--force-poweroff", "--force-reset"):
            self._unknown(argv)
        if vm not in st["vmm"]:
            raise _Fail(f"vm_open: {vm} could not be opened: No such file or directory")
        pid = st["vmm"][vm].get("pid")
        if action == "--destroy":
            del st["vmm"][vm]
            return
        # The stand-in guest maps these to bhyve's exits: SIGUSR1 = powered off (exit 1),
        # SIGUSR2 = reset (exit 0).
        if pid and self.process_matches(pid, vm):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR1 if action == "--force-poweroff" else signal.SIGUSR2)
