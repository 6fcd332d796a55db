"""Execute a Plan on a Host: all or nothing, as far as the host allows.

On a failed step the done steps are undone in reverse and OperationFailed names the step, the
exact command and its stderr word for word. If an undo fails too (or a done step cannot be
undone), RollbackFailed names both, so the operator knows the host and the configuration
differ.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from hvd_netconf import errors
from hvd_netconf.apply.plan import Action, Expect, Plan, Run, Step, StopVm, VmControl
from hvd_netconf.host import names, zfs
from hvd_netconf.host.backend import CommandFailed, Host

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


class Engine:
    def __init__(self, host: Host, vms: VmControl | None = None) -> None:
        self.host = host
        self.vms = vms

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
        for step in plan.steps:
            log.info("apply: %s", step.what)
            try:
                for action in step.do:
                    self._act(step, action)
            except _StepFailed as failure:
                self._rollback(done, failure)
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
