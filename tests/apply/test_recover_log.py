"""Issue 17.8: the start-up recovery of a commit cut short by a crash logs one bounded summary
line, however many steps it undid; the step-by-step detail is at debug level."""

from __future__ import annotations

import logging

import pytest

from hvd_netconf.apply.engine import Engine, ensure_layout, recover
from hvd_netconf.apply.plan import build_plan
from hvd_netconf.edit.diff import diff
from hvd_netconf.host.sim.host import SimHost

P = "zroot/hv"


class _Crash(BaseException):
    """hvd dying between two commands."""


class _DiesAfter:
    """The sim host, but the process dies once `count` commands have run."""

    simulated = True

    def __init__(self, host: SimHost, count: int) -> None:
        self.host, self.left = host, count

    def run(self, argv, stdin=None):  # type: ignore[no-untyped-def]
        if self.left == 0:
            raise _Crash
        self.left -= 1
        return self.host.run(argv, stdin)


def test_recovery_of_many_steps_logs_one_short_line(tmp_path, cfg, caplog) -> None:  # type: ignore[no-untyped-def]
    host = SimHost(tmp_path)
    ensure_layout(host, P, str(tmp_path))
    plan = build_plan(diff(None, cfg.config([cfg.network(f"n{i}") for i in range(150)])),
                      zfs_parent=P)
    journal = str(tmp_path / "host-undo.jsonl")
    # How many commands the whole plan runs (a step may run more than one: a name probe first).
    dry = SimHost(tmp_path / "dry")
    ensure_layout(dry, P, str(tmp_path / "dry"))
    counting = _DiesAfter(dry, 10**9)
    Engine(counting, journal=str(tmp_path / "dry.jsonl"), mark=lambda: 1).execute(plan)
    with pytest.raises(_Crash):  # dies before the last command of the last step
        Engine(_DiesAfter(host, 10**9 - counting.left - 1), journal=journal,
               mark=lambda: 1).execute(plan)
    with caplog.at_level(logging.DEBUG, logger="hvd.apply"):
        report = recover(host, journal, 1)
    # Every step is in the report (the last one never ran, so undoing it failed) ...
    assert len(report) == 151 and len(plan.steps) == 150
    # ... but the log has one short line: the counts and the first problem.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and len(warnings[0]) < 300, warnings
    assert warnings[0].startswith(
        "apply: a commit was cut short by a crash; 150 of its 150 host step(s) undone; "
        "1 problem(s), the first: undo of 'create bridge hv-n99 for network n99'")
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG
             and "step by step" in r.getMessage()]
    assert len(debug) == 1 and "undid 'create bridge hv-n0 for network n0'" in debug[0]
