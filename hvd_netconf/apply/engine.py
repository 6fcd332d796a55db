"""Execute a Plan on a Host: all or nothing, as far as the host allows.

On a failed step the done steps are undone in reverse and OperationFailed names the step, the
exact command and its stderr word for word. If an undo fails too (or a done step cannot be
undone), RollbackFailed names both, so the operator knows the host and the configuration
differ.

With a journal path the engine also survives a crash of hvd itself. The journal is JSON
lines: the first holds `mark` (the last commit id of running) and the undo of every step of
the plan, written once per plan (atomic_write); then one `{"start": i}` line is appended
before step i runs, so every step but the last started one is done and that one is in doubt.
A commit costs one small append per step, not a rewrite of the record. `recover()` at the
next start undoes the started steps when running still has that mark, i.e. the commit they
belonged to never became durable; otherwise the journal is stale and dropped. Without this, a
commit cut short by a crash left its host objects behind and committing the same
configuration again failed ("File exists").

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
from hvd_netconf.apply.plan import Action, Expect, Plan, Run, Step, StopVm, VmControl
from hvd_netconf.host import ifconfig, names, zfs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.store.fileio import atomic_write, write_all

log = logging.getLogger("hvd.apply")


@dataclass
class _StepFailed(Exception):
    step: Step
    command: str
    detail: str


def show(action: Action) -> str:
    if isinstance(action, Run):
        return shlex.join(action.argv)
    if isinstance(action, Expect):
        return f"{shlex.join(action.argv)}  # must print {action.value}"
    return f"stop VM {action.name} (graceful, then forced after its stop-timeout)"


def render(plan: Plan) -> str:
    """A readable preview of the commands, in order, with what undoes each step."""
    if not plan.steps:
        return "nothing to do on the host\n"
    lines: list[str] = []
    for i, step in enumerate(plan.steps, 1):
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
            return [argv[0], argv[1]]
    return None


def _undo_record(step: Step) -> dict[str, Any]:
    """What recovery needs of a step: its name, its probe, and its undo commands."""
    return {"what": step.what, "probe": _probe(step),
            "undo": None if step.undo is None
            else [list(a.argv) for a in step.undo if isinstance(a, Run)]}


class Engine:
    def __init__(self, host: Host, vms: VmControl | None = None, *,
                 journal: str | None = None, mark: Callable[[], int] | None = None) -> None:
        self.host = host
        self.vms = vms
        self.journal = journal
        self.mark = mark or (lambda: 0)
        self._recorded = False  # _begin wrote the journal: _forget has one to remove

    def _begin(self, plan: Plan) -> None:
        """Record the plan's undo once, before its first step (see the module docstring)."""
        if self.journal is None or not plan.steps:
            return
        head = {"mark": self.mark(), "steps": [_undo_record(s) for s in plan.steps]}
        atomic_write(self.journal, json.dumps(head).encode() + b"\n")
        self._recorded = True

    def _started(self, index: int) -> None:
        """Step `index` is about to run: one appended line, no fsync (see the docstring)."""
        if self.journal is not None:
            write_all(self.journal, b'{"start": %d}\n' % index, os.O_APPEND, None)

    def settled(self) -> None:
        """The commit the last plan belonged to is durable; its undo record can go."""
        self._forget()

    def _forget(self) -> None:
        if self.journal is not None and self._recorded:
            self._recorded = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal)

    def _act(self, step: Step, action: Action) -> None:
        try:
            if isinstance(action, Run):
                self.host.run(action.argv)
            elif isinstance(action, Expect):
                got = self.host.run(action.argv).strip()
                if got != action.value:
                    raise _StepFailed(step, show(action), f"{action.message} (got {got!r})")
            elif isinstance(action, StopVm):
                if self.vms is None:
                    raise _StepFailed(step, show(action), "no VM supervisor to stop it")
                self.vms.stop(action.name)
        except CommandFailed as e:
            raise _StepFailed(step, shlex.join(e.argv),
                              f"exit status {e.returncode}: {e.stderr.strip()}") from e
        except errors.RpcError as e:
            raise _StepFailed(step, show(action), e.message) from e

    def execute(self, plan: Plan) -> Callable[[], None]:
        """Run every step; on a failure undo the done ones and raise. On success return the
        undo of the whole plan, for when the commit fails after the host was changed."""
        done: list[Step] = []
        self._begin(plan)
        for i, step in enumerate(plan.steps):
            log.info("apply: %s", step.what)
            self._started(i)
            try:
                for action in step.do:
                    self._act(step, action)
            except _StepFailed as failure:
                try:
                    self._rollback(done, failure)
                finally:
                    self._forget()
            done.append(step)
        return lambda: self._undo_all(done)

    def _undo(self, done: list[Step]) -> list[str]:
        problems: list[str] = []
        for step in reversed(done):
            if step.undo is None:
                problems.append(f"cannot undo '{step.what}'")
                continue
            try:
                for action in step.undo:
                    self._act(step, action)
            except _StepFailed as e:
                problems.append(f"undo of '{step.what}' failed: `{e.command}`: {e.detail}")
        return problems

    def _undo_all(self, done: list[Step]) -> None:
        log.error("apply: the commit failed after the host was changed; undoing %d step(s)",
                  len(done))
        problems = self._undo(done)
        self._forget()
        if problems:
            raise errors.RollbackFailed(
                "the commit failed and undoing its host changes failed too: "
                + "; ".join(problems))

    def _rollback(self, done: list[Step], failure: _StepFailed) -> None:
        what = (f"{failure.step.what} failed: `{failure.command}`: {failure.detail}"
                f"{' (simulated host)' if self.host.simulated else ''}")
        log.error("apply: %s; undoing %d done step(s)", what, len(done))
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


def _read_journal(journal: str) -> tuple[int | None, list[dict[str, Any]]]:
    """(mark, the started steps) of a journal; a torn or bad line ends the started steps (it
    was being appended when hvd died, so its step had not run)."""
    with open(journal, "rb") as f:
        head, *lines = f.read().split(b"\n")
    data = json.loads(head)
    started = 0
    for line in lines:
        try:
            if json.loads(line) != {"start": started}:
                break
        except ValueError:
            break
        started += 1
    return data["mark"], data["steps"][:started]


def cut_short(journal: str, mark: int) -> bool:
    """Whether the journal is that of a commit a crash cut short (read before recover())."""
    try:
        journal_mark, _steps = _read_journal(journal)
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return journal_mark == mark


def recover(host: Host, journal: str, mark: int) -> list[str]:
    """At start: undo the host steps of a commit that a crash cut short (see the module
    docstring). Returns what was undone or could not be, for the log."""
    try:
        journal_mark, steps = _read_journal(journal)
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.error("apply: unreadable host journal %s (%s); ignoring it", journal, e)
        journal_mark, steps = None, []
    report: list[str] = []
    if journal_mark == mark and steps:
        for i, step in reversed(list(enumerate(steps))):
            what, undo, probe = step["what"], step["undo"], step["probe"]
            if i == len(steps) - 1 and probe is not None and _succeeds(host, probe):
                report.append(f"'{what}' had not run")
                continue
            if undo is None:
                report.append(f"cannot undo '{what}'")
                continue
            for argv in undo:
                try:
                    host.run(argv)
                except CommandFailed as e:  # the step in doubt may not have run (in full)
                    report.append(f"undo of '{what}': {e}")
            report.append(f"undid '{what}'")
        log.warning("apply: a commit was cut short by a crash; its host steps were undone: %s",
                    "; ".join(report))
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
