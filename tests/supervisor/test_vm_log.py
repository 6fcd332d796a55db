"""The supervisor's per-VM event log (ROOT/vm/<vm>/state/vm.log), what `hv log VM` shows."""

from __future__ import annotations

import re

from hvd_netconf.supervisor import runstate

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ")


def test_start_and_a_stop_that_escalates_are_logged(env) -> None:
    env.add_vm("web", "<stop-timeout>1</stop-timeout>")
    env.standin("web", ignore_sigterm=True)
    sup = env.supervisor()
    sup.start("web")
    env.ready("web")
    sup.stop("web")
    lines = (env.root / "vm/web/state/vm.log").read_text().splitlines()
    assert all(LINE.match(ln) for ln in lines), lines
    words = [LINE.sub("", ln) for ln in lines]
    assert words[0] == "stopped -> starting: start requested"
    assert re.fullmatch(r"starting -> running: bhyve started \(pid \d+\)", words[1])
    assert words[2] == "running -> stopping: stop requested"
    assert re.fullmatch(r"stop: SIGTERM \(the ACPI power button\) to the bhyve \(pid \d+\), "
                        r"waiting up to 1 s", words[3])
    assert words[4].startswith("stop: forced power-off (bhyvectl --force-poweroff")
    assert words[5] == ("stopping -> stopped: the guest powered off (exit 1): hvd-standin "
                        "(simulated bhyve, not a real VM) web: forced power-off")


def test_the_event_log_rotates(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(runstate, "LOG_ROTATE_BYTES", 100)
    files = runstate.VmFiles(tmp_path, "web")
    for i in range(8):
        files.note(f"line {i:02d} " + "x" * 20)
    old = (files.dir / "vm.log.old").read_text()
    new = files.events.read_text()
    assert "line 07" in new and "line 05" in old and "line 07" not in old
    assert "line 00" not in old + new  # one old generation is kept
