"""`hvd selftest --backend sim` run as a user runs it: the real command in a child process,
judged by its PASS/FAIL lines, its JSON report and what it leaves behind (nothing)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from e2e.helpers import alive

from hvd_netconf.selftest import SelfTest

TEST_STEPS = [
    "prerequisites",
    "create the scratch dataset",
    "start hvd",
    "create a network and a VM (edit-config, commit)",
    "prepare a guest that powers off on ACPI",
    "start the VM; the guest runs",
    "the VM's and the host's statistics",
    "stop the VM gracefully",
    "prepare a guest that ignores ACPI",
    "start the VM again",
    "stop the VM with escalation",
    "start the VM for re-adoption",
    "kill hvd (SIGKILL), restart it: the VM is re-adopted",
    "stop the VM at once (force)",
    "destroy the VM and the network (commit)",
    "stop hvd (SIGTERM)",
]
CLEANUP_STEPS = [
    "cleanup: hvd stopped",
    "cleanup: no guest process",
    "cleanup: no /dev/vmm instance",
    "cleanup: no interface",
    "cleanup: scratch dataset destroyed",
    "cleanup: nothing of the self-test remains",
]


def selftest(tmp: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the command with TMPDIR in a new short directory (a Unix socket path has at most
    about 100 bytes), so its scratch directory lands there."""
    report = tmp / "report.json"
    scratch = Path(tempfile.mkdtemp(prefix="st-", dir="/tmp"))
    try:
        res = subprocess.run(
            [sys.executable, "-m", "hvd_netconf.daemon", "selftest", "--backend", "sim",
             "--json", str(report), *args],
            cwd=tmp, env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True,
            text=True, timeout=240)
        # Nothing is left in the scratch directory: no root, socket, log or sim state.
        assert list(scratch.iterdir()) == [], res.stdout
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return res, json.loads(report.read_text())


def status_lines(stdout: str) -> dict[str, str]:
    """step name -> PASS/FAIL, from lines `PASS  name (1.2 s): detail`."""
    out = {}
    for line in stdout.splitlines():
        m = re.match(r"(PASS|FAIL)  (.*?) \(\d+\.\d s\)", line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def test_selftest_passes_on_the_sim_and_says_it_is_simulated(tmp_path: Path) -> None:
    res, report = selftest(tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == ("hvd selftest: the host is SIMULATED (sim backend): nothing real is "
                        "created and no VM really runs")
    assert status_lines(res.stdout) == {s: "PASS" for s in TEST_STEPS + CLEANUP_STEPS}
    assert list(status_lines(res.stdout)) == TEST_STEPS + CLEANUP_STEPS
    assert lines[-1] == "hvd selftest: PASS"
    # The guest proof is the stand-in's console line; escalation and re-adoption show.
    assert re.search(r"PASS  start the VM; the guest runs .*: guest running \(pid \d+\)'$",
                     res.stdout, re.M)
    assert "then forced" in res.stdout and "adopted the guest" in res.stdout

    assert report["result"] == "PASS" and report["backend"] == "sim"
    assert report["simulated"] is True and report["pool"] == "zroot"
    assert re.fullmatch(r"zroot/hvd-selftest-[0-9a-f]{6}", report["dataset"])
    assert [(s["step"], s["phase"], s["status"]) for s in report["steps"]] == (
        [(s, "test", "PASS") for s in TEST_STEPS]
        + [(s, "cleanup", "PASS") for s in CLEANUP_STEPS])
    # No guest and no hvd of the run is left alive.
    pids = [int(p) for p in re.findall(r"\bpid (\d+)", res.stdout)]
    assert pids and not any(alive(p) for p in pids)


def test_a_failing_host_command_is_a_fail_with_its_command_and_stderr_and_cleanup_runs(
        tmp_path: Path) -> None:
    res, report = selftest(tmp_path, "--sim-fault", "ifconfig bridge create",
                           "ifconfig: SIOCIFCREATE2 (bridge): Operation not permitted")
    assert res.returncode == 1, res.stdout + res.stderr
    got = status_lines(res.stdout)
    failed = "create a network and a VM (edit-config, commit)"
    assert got[failed] == "FAIL"
    assert [s for s in TEST_STEPS if s in got] == TEST_STEPS[:TEST_STEPS.index(failed) + 1]
    assert all(got[s] == "PASS" for s in CLEANUP_STEPS)
    # The FAIL names the request and carries the server's error: the host command, word for
    # word, with its stderr.
    after = res.stdout.split(f"FAIL  {failed}", 1)[1].splitlines()
    assert after[1].startswith("      command: NETCONF <commit")
    assert any(line.startswith("      stderr: ") and "ifconfig bridge create" in line
               for line in after)
    assert "Operation not permitted" in "\n".join(after[:8])
    assert res.stdout.splitlines()[-1] == "hvd selftest: FAIL"
    step = next(s for s in report["steps"] if s["step"] == failed)
    assert step["status"] == "FAIL" and step["command"].startswith("NETCONF <commit")
    assert "SIOCIFCREATE2 (bridge): Operation not permitted" in step["stderr"]
    assert report["result"] == "FAIL" and report["hvd_log_tail"]


def test_cleanup_removes_what_a_failed_commit_left(tmp_path: Path) -> None:
    """hvd's delete commit fails and rolls back: the VM, its zvol and the bridge stay. The
    cleanup steps remove them (the bridge by name, the datasets with the scratch dataset)."""
    res, report = selftest(tmp_path, "--sim-fault", "zfs destroy -r",
                           "cannot destroy: dataset is busy")
    assert res.returncode == 1
    got = status_lines(res.stdout)
    failed = "destroy the VM and the network (commit)"
    assert got[failed] == "FAIL" and all(got[s] == "PASS" for s in CLEANUP_STEPS)
    step = next(s for s in report["steps"] if s["step"] == failed)
    assert "zfs destroy -r" in step["stderr"] and "dataset is busy" in step["stderr"]
    interfaces = next(s for s in report["steps"] if s["step"] == "cleanup: no interface")
    assert re.fullmatch(r"destroyed hv-st[0-9a-f]{6}", interfaces["detail"])


def test_a_failing_cleanup_step_shows_its_command_and_the_leftover(tmp_path: Path) -> None:
    out = io.StringIO()
    scratch = Path(tempfile.mkdtemp(prefix="st-", dir="/tmp"))
    try:
        test = SelfTest("sim", "zroot", out=out, tmp=scratch)
        test.host.inject_fault(["zfs", "destroy", "-r", test.dataset],  # type: ignore[attr-defined]
                               "cannot destroy 'x': dataset is busy")
        assert test.run(tmp_path / "r.json") == 1
        assert list(scratch.iterdir()) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = out.getvalue()
    assert ("FAIL  cleanup: scratch dataset destroyed" in text
            and f"      command: zfs destroy -r {test.dataset}\n"
                "      stderr: cannot destroy 'x': dataset is busy\n" in text)
    assert (f"left behind: dataset {test.dataset} (`zfs list -H -o name {test.dataset}` "
            "lists it)") in text
    assert all(got == "PASS" for step, got in status_lines(text).items()
               if not step.startswith("cleanup: scratch") and "remains" not in step)
    assert json.loads((tmp_path / "r.json").read_text())["result"] == "FAIL"


def test_freebsd_backend_refuses_to_run_without_a_pool(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "hvd_netconf.daemon", "selftest",
                          "--backend", "freebsd"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2 and res.stdout == ""
    assert "name a ZFS pool, e.g. `hvd selftest zroot`" in res.stderr
    res = subprocess.run([sys.executable, "-m", "hvd_netconf.daemon", "selftest", "--backend",
                          "freebsd", "tank", "--sim-fault", "zfs", "no"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert "--sim-fault works only on the sim backend" in res.stderr
