"""Execute a Plan on a Host: all or nothing, as far as the host allows.

On a failed step (a host command that fails, a guard that refuses, or any other exception:
a command that cannot be spawned, output that cannot be decoded, a bug) the done steps are
undone in reverse and OperationFailed names the step, the
exact command and its stderr word for word. If an undo fails too (or a done step cannot be
undone), RollbackFailed names both, so the operator knows the host and the configuration
differ.

With a journal path the engine also survives a crash of hvd itself. The journal is JSON
lines: the first holds `mark` (the last commit id of running) and the undo of every step of
the plan, written once per plan (atomic_write); then one `{"start": [i, ...]}` line is
appended before a chunk of steps runs (apply/chunks.py: one step, or up to 512 independent
ones run as one host batch), so the steps of every started chunk but the last are done and
those of the last are in doubt. A commit costs one small append per chunk, not a rewrite of
the record. `recover()` at the next start (or before the next plan is recorded: a journal is
never overwritten before it is replayed) undoes the started steps when running still has
that mark, i.e. the commit they belonged to never became durable; otherwise the journal is
stale and dropped. A failure inside a chunk undoes the chunk's steps that succeeded (those
run beside the failing one included) and the chunks before it, in reverse; a chunk's undo
is one batch too. Without this, a commit cut short by a crash left its host objects behind
and committing the same configuration again failed ("File exists").

A step whose undo depends on what hvd found on the host (an uplink's MTU and up flag, see
`Found`) appends that undo to its start line. Those found states are kept in a small ledger
beside the journal (uplinks.json) until the network lets go of the uplink, so its removal puts
the uplink back as it was found, across restarts of hvd.

The plan line goes through atomic_write, so after any crash, power loss included, the journal
is absent or starts with a whole plan: one flush per commit that changes the host. The start
lines are not fsynced. A crash of hvd (SIGKILL, OOM, an exception) loses nothing:
what was written is in the kernel's page cache. A power loss or kernel panic can lose the last
lines, but of a step's effects only ZFS changes outlive it (interfaces, bridges and vmm
instances are gone), and a zfs command commits a transaction group that carries every earlier
write to the same pool, where the journal lives (ROOT is the mountpoint of hvd's parent
dataset). With ROOT on another file system a power loss mid-commit can leave a dataset the
journal does not name; the next commit of that VM then fails with "dataset already exists"
until the operator destroys it: a rare, visible fault, against a disk flush per step on
every commit.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hvd_netconf import errors
from hvd_netconf.apply.chunks import schedule
from hvd_netconf.apply.plan import (
    Absent,
    Action,
    DhcpControl,
    DhcpServer,
    Found,
    Netconf,
    OnlyOwned,
    Plan,
    Restore,
    Run,
    Step,
    StopVm,
    VmControl,
)
from hvd_netconf.host import ifconfig, names, zfs
from hvd_netconf.host.backend import CommandFailed, Host, run_batch
from hvd_netconf.host.netd import Netd
from hvd_netconf.store.fileio import atomic_write, write_all

log = logging.getLogger("hvd.apply")

Argvs = list[list[str]]
Chunk = list[Step]  # steps that ran as one (apply/chunks.py)


@dataclass
class _StepFailed(Exception):
    step: Step
    command: str
    detail: str


def show(action: Action) -> str:
    if isinstance(action, Run):
        if action.stdin is not None:  # a here-document, as a shell would be given it
            return f"{shlex.join(action.argv)} <<'EOF'\n{action.stdin}EOF"
        return shlex.join(action.argv)
    if isinstance(action, Absent):
        return f"{shlex.join(action.probe)}  # must not exist"
    if isinstance(action, OnlyOwned):
        return (f"{shlex.join(zfs.owner_tree(action.dataset))}  # every one must be "
                f"{zfs.OWNER_PROP}={zfs.OWNER} (local)")
    if isinstance(action, Found):
        return f"{shlex.join(ifconfig.show(action.ifname))}  # record its MTU and up/down"
    if isinstance(action, Restore):
        return f"put {action.ifname} back to the MTU and up/down state hvd found it in"
    if isinstance(action, Netconf):
        return f"netd edit-config + commit: {action.config}"
    if isinstance(action, DhcpServer):
        if action.conf is None:
            return f"stop dnsmasq of network {action.network} and remove its files"
        leases = action.conf.count("\ndhcp-host=")
        return (f"dnsmasq of network {action.network} with {leases} static lease"
                f"{'' if leases == 1 else 's'} and this configuration:\n"
                + "".join(f"       | {line}\n" for line in action.conf.splitlines())).rstrip()
    return f"stop VM {action.name} (graceful, then forced after its stop-timeout)"


def run_order(plan: Plan) -> list[list[Step]]:
    """The plan's steps chunk by chunk, in the order execute() runs them (apply/chunks.py)."""
    return [[plan.steps[i] for i in chunk] for chunk in schedule(plan.steps)]


def render(plan: Plan) -> str:
    """A readable preview of the commands, in the order they run, with what undoes each step
    and which steps run at once."""
    if not plan.steps:
        return "nothing to do on the host\n"
    lines: list[str] = []
    i = 0
    for chunk in run_order(plan):
        if len(chunk) > 1:
            lines.append(f"steps {i + 1}-{i + len(chunk)} run at once:")
        for step in chunk:
            i += 1
            lines.append(f"{i}. {step.what}")
            lines += [f"     {show(a)}" for a in step.do]
            if step.undo is None:
                lines.append("     (cannot be undone)")
            else:
                lines += [f"     undo: {show(a)}" for a in step.undo]
    if plan.pending_restart:
        lines.append("pending restart (applies at next start): "
                     + ", ".join(sorted(plan.pending_restart)))
    return "\n".join(lines) + "\n"


def _probe(step: Step) -> list[str] | None:
    """For an interface destroy: the command that succeeds while the interface still exists.
    Undoing such a step when it never ran would clone a stray bridge (`ifconfig bridge create
    name X` leaves bridgeN behind when X exists), so recovery asks first."""
    if len(step.do) == 1 and isinstance(step.do[0], Run):
        argv = step.do[0].argv
        if len(argv) == 3 and argv[0] == ifconfig.IFCONFIG and argv[2] == "destroy":
            return list(ifconfig.show(argv[1]))
    if len(step.do) == 1 and isinstance(step.do[0], Netconf) and step.do[0].destroys:
        return list(ifconfig.show(step.do[0].destroys))  # the same question, netd or not
    return None


def _one_argv(actions: tuple[Action, ...]) -> tuple[str, ...]:
    """The command of a one-command step or undo (the steps apply/chunks.py lets share)."""
    (action,) = actions
    if not isinstance(action, Run):
        raise TypeError(f"not a command: {action!r}")
    return action.argv


def _static(step: Step) -> bool:
    """The step's undo is known before it runs (no found state in it)."""
    return step.undo is None or all(not isinstance(a, Restore) for a in step.undo)


def _undo_record(step: Step) -> dict[str, Any]:
    """What recovery needs of a step: its name, its probe, its undo commands, and the uplinks
    whose found state its undo records again (the undo of a removal that restored them)."""
    return {"what": step.what, "probe": _probe(step),
            "undo": None if step.undo is None
            else [_command(a) for a in step.undo if isinstance(a, Run | Netconf)],
            "found": [a.ifname for a in step.undo or () if isinstance(a, Found)]}


Command = list[str] | dict[str, Any]


def _command(action: Run | Netconf) -> Command:
    """A journal entry of one command: its argv, {argv, stdin} when it reads stdin, or
    {netd: config} for a change through netd."""
    if isinstance(action, Netconf):
        return {"netd": action.config}
    return (list(action.argv) if action.stdin is None
            else {"argv": list(action.argv), "stdin": action.stdin})


def _run_command(host: Host, cmd: Command, netd: Netd | None) -> None:
    if isinstance(cmd, dict) and "netd" in cmd:
        if netd is None:
            raise errors.OperationFailed("a netd change to undo, and no netd to undo it")
        netd.edit(cmd["netd"])
    elif isinstance(cmd, dict):
        host.run(cmd["argv"], stdin=cmd["stdin"])
    else:
        host.run(cmd)


def _ledger_path(journal: str) -> str:
    return os.path.join(os.path.dirname(journal), "uplinks.json")


class Ledger:
    """How hvd found each uplink it changed (ifname -> LinkState), in a JSON file when given
    a path (so a removal after a restart of hvd still knows), else in memory."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._mem: dict[str, dict[str, Any]] = {}

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None:
            return self._mem
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read())
        except FileNotFoundError:
            return {}
        except ValueError as e:
            log.error("apply: unreadable uplink ledger %s (%s); starting afresh", self.path, e)
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, data: dict[str, dict[str, Any]]) -> None:
        if self.path is None:
            self._mem = data
        elif data:
            atomic_write(self.path, json.dumps(data, sort_keys=True).encode() + b"\n")
        else:  # nothing recorded: no file, so a rolled-back commit leaves none behind
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def get(self, ifname: str) -> ifconfig.LinkState | None:
        found = self._load().get(ifname)
        return None if found is None else ifconfig.LinkState(bool(found["up"]), int(found["mtu"]))

    def put(self, ifname: str, state: ifconfig.LinkState) -> None:
        data = self._load()
        data[ifname] = {"up": state.up, "mtu": state.mtu}
        self._save(data)

    def drop(self, ifname: str) -> None:
        data = self._load()
        if data.pop(ifname, None) is not None:
            self._save(data)


def _restore_argvs(ifname: str, found: ifconfig.LinkState) -> Argvs:
    argvs = [list(ifconfig.set_mtu(ifname, found.mtu))]
    if not found.up:
        argvs.append(list(ifconfig.down(ifname)))
    return argvs


class Engine:
    def __init__(self, host: Host, vms: VmControl | None = None, *,
                 journal: str | None = None, mark: Callable[[], int] | None = None,
                 ledger: str | None = None, dhcp: DhcpControl | None = None,
                 netd: Netd | None = None) -> None:
        self.host = host
        self.vms = vms
        self.dhcp = dhcp
        self.netd = netd  # where the plan's Netconf actions go (None: the plan has none)
        self.journal = journal
        self.mark = mark or (lambda: 0)
        if ledger is None and journal is not None:
            ledger = _ledger_path(journal)
        self.ledger = Ledger(ledger)
        self._recorded = False  # _begin wrote the journal: _forget has one to remove
        self._new_found: list[str] = []  # ledger entries this plan made (a rollback drops them)
        self._dropped: dict[str, ifconfig.LinkState] = {}  # ... and dropped (it puts them back)

    def _begin(self, plan: Plan) -> None:
        """Record the plan's undo once, before its first step (see the module docstring); a
        journal left by an earlier plan is replayed first, never overwritten."""
        self._new_found, self._dropped = [], {}
        if self.journal is None or not plan.steps:
            return
        if os.path.exists(self.journal):
            recover(self.host, self.journal, self.mark(), self.netd)
        head = {"mark": self.mark(), "steps": [_undo_record(s) for s in plan.steps]}
        try:
            atomic_write(self.journal, json.dumps(head).encode() + b"\n")
        except OSError as e:
            raise errors.OperationFailed(
                f"cannot record the undo of the host changes in {self.journal}: {e}; "
                "nothing was changed") from e
        self._recorded = True

    def _started(self, chunk: list[int], step: Step) -> None:
        """The steps of chunk are about to run: one appended line, no fsync (see the
        docstring), with the undo that hvd's found state gave its step, when it has one (a
        step with found state is always a chunk of its own)."""
        if self.journal is None:
            return
        line: dict[str, Any] = {"start": chunk}
        if not _static(step):
            line["undo"] = self._resolve(step)
        write_all(self.journal, json.dumps(line).encode() + b"\n", os.O_APPEND, None)

    def _resolve(self, step: Step) -> list[Command]:
        out: list[Command] = []
        for a in step.undo or ():
            if isinstance(a, Run | Netconf):
                out.append(_command(a))
            elif isinstance(a, Restore) and (found := self.ledger.get(a.ifname)) is not None:
                out += _restore_argvs(a.ifname, found)
        return out

    def settled(self) -> None:
        """The commit the last plan belonged to is durable; its undo record can go."""
        self._forget()

    def _forget(self) -> None:
        if self.journal is not None and self._recorded:
            self._recorded = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal)

    def _act(self, step: Step, action: Action) -> None:
        """One action; every failure, whatever raised it, becomes a _StepFailed."""
        try:
            self._do(step, action)
        except _StepFailed:
            raise
        except Exception as e:  # a spawn error, undecodable output, a bug: undone all the same
            raise self._failure(step, action, e) from e

    @staticmethod
    def _failure(step: Step, action: Action, e: BaseException) -> _StepFailed:
        """The _StepFailed for what an action raised (or what a batch handed back for it)."""
        if isinstance(e, CommandFailed):
            return _StepFailed(step, shlex.join(e.argv),
                               f"exit status {e.returncode}: {e.stderr.strip()}")
        if isinstance(e, errors.RpcError):
            return _StepFailed(step, show(action), e.message)
        log.error("apply: %s: unexpected error", step.what, exc_info=e)
        return _StepFailed(step, show(action), f"{type(e).__name__}: {e}")

    def _do(self, step: Step, action: Action) -> None:
        if isinstance(action, Run):
            if action.stdin is None:
                self.host.run(action.argv)
            else:
                self.host.run(action.argv, stdin=action.stdin)
        elif isinstance(action, Absent):
            try:
                self.host.run(action.probe)
            except CommandFailed as e:
                if "does not exist" in e.stderr:
                    return
                raise
            raise _StepFailed(step, show(action), action.message)
        elif isinstance(action, OnlyOwned):
            bad = zfs.foreign(self.host.run(zfs.owner_tree(action.dataset)))
            if bad:
                raise _StepFailed(step, show(action), (
                    f"refusing to destroy {action.dataset}: hvd did not create "
                    f"{', '.join(bad)} ({zfs.OWNER_PROP}={zfs.OWNER} is not set on "
                    f"{'them' if len(bad) > 1 else 'it'}); move or destroy "
                    f"{'them' if len(bad) > 1 else 'it'} first"))
        elif isinstance(action, Found):
            if self.ledger.get(action.ifname) is None:
                found = ifconfig.parse_state(self.host.run(ifconfig.show(action.ifname)))
                self.ledger.put(action.ifname, found)
                self._new_found.append(action.ifname)
        elif isinstance(action, Restore):
            was = self.ledger.get(action.ifname) or self._dropped.get(action.ifname)
            if was is None:
                log.warning("apply: no record of how uplink %s was found; left as it is",
                            action.ifname)
                return
            for argv in _restore_argvs(action.ifname, was):
                self.host.run(argv)
            if action.forget:
                self.ledger.drop(action.ifname)
                self._dropped[action.ifname] = was
        elif isinstance(action, Netconf):
            if self.netd is None:
                raise _StepFailed(step, show(action), "no netd session to send it to")
            self.netd.edit(action.config)
        elif isinstance(action, StopVm):
            if self.vms is None:
                raise _StepFailed(step, show(action), "no VM supervisor to stop it")
            self.vms.stop(action.name)
        elif isinstance(action, DhcpServer):
            if self.dhcp is None:
                raise _StepFailed(step, show(action), "no DHCP server supervisor")
            self.dhcp.apply(action.network, action.conf)

    def execute(self, plan: Plan) -> Callable[[], None]:
        """Run every step, chunk by chunk; on a failure undo the done ones and raise. On
        success return the undo of the whole plan, for when the commit fails after the host
        was changed."""
        done: list[Chunk] = []
        self._begin(plan)
        for chunk in schedule(plan.steps):  # as run_order() lists them
            try:
                if len(chunk) == 1:
                    self._run_step(chunk[0], plan.steps[chunk[0]])
                    done.append([plan.steps[chunk[0]]])
                else:
                    self._run_chunk(chunk, [plan.steps[i] for i in chunk], done)
            except _StepFailed as failure:
                try:
                    self._rollback(done, failure)
                finally:
                    self._forget()
        return lambda: self._undo_all(done)

    def _run_step(self, index: int, step: Step) -> None:
        log.info("apply: %s", step.what)
        for action in step.do:
            if isinstance(action, Found):  # before the start line: it holds the undo
                self._act(step, action)
        self._act_started([index], step)
        for action in step.do:
            if not isinstance(action, Found):
                self._act(step, action)

    def _run_chunk(self, chunk: list[int], steps: list[Step], done: list[Chunk]) -> None:
        """Independent one-command steps as one host batch; the ones that succeeded are done
        (appended to done) even when another failed, so the rollback undoes them too."""
        log.info("apply: %d steps at once, from '%s' to '%s'", len(steps), steps[0].what,
                 steps[-1].what)
        self._act_started(chunk, steps[0])
        outcomes = run_batch(self.host, [_one_argv(s.do) for s in steps])
        done.append([s for s, o in zip(steps, outcomes, strict=True) if isinstance(o, str)])
        for step, outcome in zip(steps, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                raise self._failure(step, step.do[0], outcome)

    def _act_started(self, chunk: list[int], step: Step) -> None:
        try:
            self._started(chunk, step)
        except Exception as e:
            raise _StepFailed(step, f"record step {chunk[0] + 1} in {self.journal}",
                              f"{type(e).__name__}: {e}") from e

    def _undo(self, done: list[Chunk]) -> list[str]:
        problems: list[str] = []
        made, self._new_found = self._new_found, []
        for chunk in reversed(done):
            if len(chunk) > 1:  # one-command undos of independent steps (apply/chunks.py)
                argvs = [_one_argv(s.undo or ()) for s in reversed(chunk)]
                outcomes = run_batch(self.host, argvs, keep_going=True)
                for step, outcome in zip(reversed(chunk), outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        problems.append(self._undo_problem(
                            self._failure(step, (step.undo or ())[0], outcome)))
                continue
            for step in reversed(chunk):
                if step.undo is None:
                    problems.append(f"cannot undo '{step.what}'")
                    continue
                try:
                    for action in step.undo:
                        self._act(step, action)
                except _StepFailed as e:
                    problems.append(self._undo_problem(e))
        for ifname in made:  # the uplinks are as found again: no record to keep
            with contextlib.suppress(OSError):
                self.ledger.drop(ifname)
        return problems

    @staticmethod
    def _undo_problem(e: _StepFailed) -> str:
        return f"undo of '{e.step.what}' failed: `{e.command}`: {e.detail}"

    def _undo_all(self, done: list[Chunk]) -> None:
        log.error("apply: the commit failed after the host was changed; undoing %d step(s)",
                  sum(map(len, done)))
        problems = self._undo(done)
        self._forget()
        if problems:
            raise errors.RollbackFailed(
                "the commit failed and undoing its host changes failed too: "
                + "; ".join(problems))

    def _rollback(self, done: list[Chunk], failure: _StepFailed) -> None:
        what = (f"{failure.step.what} failed: `{failure.command}`: {failure.detail}"
                f"{' (simulated host)' if self.host.simulated else ''}")
        log.error("apply: %s; undoing %d done step(s)", what, sum(map(len, done)))
        problems = self._undo(done)
        if problems:
            raise errors.RollbackFailed(
                f"{what}; rollback incomplete, host and configuration differ: "
                + "; ".join(problems))
        raise errors.OperationFailed(what)


def _succeeds(host: Host, argv: list[str]) -> bool:
    try:
        host.run(argv)
    except CommandFailed:
        return False
    return True


def _read_journal(journal: str) -> tuple[int | None, list[list[dict[str, Any]]]]:
    """(mark, the started chunks' steps) of a journal; a torn or bad line ends the started
    chunks (it was being appended when hvd died, so its chunk had not run). A start line of
    an hvd before chunks names one step by its index alone."""
    with open(journal, "rb") as f:
        head, *lines = f.read().split(b"\n")
    data = json.loads(head)
    steps = data["steps"]
    seen: set[int] = set()
    chunks: list[list[dict[str, Any]]] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            break
        start = entry.get("start") if isinstance(entry, dict) else None
        chunk = [start] if isinstance(start, int) else start
        if (not isinstance(chunk, list) or not chunk
                or not all(isinstance(i, int) and 0 <= i < len(steps) and i not in seen
                           for i in chunk)):
            break
        if "undo" in entry:  # the undo hvd's found state gave the step (see the docstring)
            steps[chunk[0]]["undo"] = entry["undo"]
        seen.update(chunk)
        chunks.append([steps[i] for i in chunk])
    return data["mark"], chunks


def cut_short(journal: str, mark: int) -> bool:
    """Whether the journal is that of a commit a crash cut short (read before recover())."""
    try:
        journal_mark, _steps = _read_journal(journal)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return journal_mark == mark


def _recover_step(host: Host, ledger: Ledger, step: dict[str, Any], in_doubt: bool,
                  report: list[str], netd: Netd | None) -> None:
    what, undo, probe = step["what"], step["undo"], step["probe"]
    if in_doubt and probe is not None and _succeeds(host, probe):
        report.append(f"'{what}' had not run")
        return
    if undo is None:
        report.append(f"cannot undo '{what}'")
        return
    try:
        for ifname in step.get("found", []):  # as it is now: as hvd found it
            if ledger.get(ifname) is None:
                ledger.put(ifname, ifconfig.parse_state(host.run(ifconfig.show(ifname))))
    except Exception as e:
        report.append(f"record of uplinks for '{what}': {type(e).__name__}: {e}")
    for cmd in undo:
        try:
            _run_command(host, cmd, netd)
        except Exception as e:  # the step in doubt may not have run (in full)
            report.append(f"undo of '{what}': {e}")
    report.append(f"undid '{what}'")


def _recover_chunk(host: Host, chunk: list[dict[str, Any]], in_doubt: bool,
                   report: list[str]) -> None:
    """A chunk's one-command undos as one batch. In the chunk in doubt, an undo that finds
    nothing to undo (a create that had not run) means its step had not run."""
    steps = list(reversed(chunk))
    outcomes = run_batch(host, [s["undo"][0] for s in steps], keep_going=True)
    for step, outcome in zip(steps, outcomes, strict=True):
        if (in_doubt and isinstance(outcome, CommandFailed)
                and "does not exist" in outcome.stderr):
            report.append(f"'{step['what']}' had not run")
            continue
        if isinstance(outcome, BaseException):
            report.append(f"undo of '{step['what']}': {outcome}")
        report.append(f"undid '{step['what']}'")


def _batchable(chunk: list[dict[str, Any]]) -> bool:
    return len(chunk) > 1 and all(
        s["probe"] is None and not s.get("found") and s["undo"] is not None
        and len(s["undo"]) == 1 and isinstance(s["undo"][0], list) for s in chunk)


def recover(host: Host, journal: str, mark: int, netd: Netd | None = None) -> list[str]:
    """At start: undo the host steps of a commit that a crash cut short (see the module
    docstring), the netd ones through netd. Returns what was undone or could not be, for the
    log."""
    try:
        journal_mark, chunks = _read_journal(journal)
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.error("apply: unreadable host journal %s (%s); ignoring it", journal, e)
        journal_mark, chunks = None, []
    report: list[str] = []
    ledger = Ledger(_ledger_path(journal))
    if journal_mark == mark and chunks:
        for k, chunk in reversed(list(enumerate(chunks))):
            if _batchable(chunk):
                _recover_chunk(host, chunk, k == len(chunks) - 1, report)
                continue
            for step in reversed(chunk):
                _recover_step(host, ledger, step, k == len(chunks) - 1, report, netd)
        # One bounded line however many steps there were; each step's outcome at debug level.
        trouble = [r for r in report if not r.startswith(("undid ", "'"))]
        log.warning("apply: a commit was cut short by a crash; %d of its %d host step(s) "
                    "undone%s", sum(r.startswith("undid ") for r in report),
                    sum(map(len, chunks)),
                    f"; {len(trouble)} problem(s), the first: {trouble[0]}" if trouble else "")
        log.debug("apply: crash recovery, step by step: %s", "; ".join(report))
    os.unlink(journal)
    return report


def ensure_layout(host: Host, parent: str, mountpoint: str) -> list[str]:
    """Create hvd's parent dataset (mounted at mountpoint) and its vm child if missing."""
    created: list[str] = []
    try:
        have = set(zfs.parse_list(host.run(zfs.list_tree(parent))))
    except CommandFailed as e:
        if "does not exist" not in e.stderr:
            raise
        host.run(zfs.create_root(parent, mountpoint))
        created.append(parent)
        have = {parent}
    vms = names.vms_dataset(parent)
    if vms not in have:
        host.run(zfs.create_filesystem(vms, "vms"))
        created.append(vms)
    return created
