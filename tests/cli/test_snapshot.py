"""`hv snapshot`: take, list, roll back and delete a VM's snapshots one-shot, with --json;
the destructive ones say what they destroy and ask on a terminal, or need --yes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import pexpect
from hv_cli.commands import Options, Session
from hv_cli.shell import HvCompleter, Names
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from tests.cli.conftest import Result
from tests.cli.test_safety import HV, answer, hv_no_tty

DISK = "zroot/hv/vm/web/disks/d0"


def _web(hv: Callable[..., Result]) -> None:
    for line in ("create vm web 1 256", "add disk web d0 1G"):
        assert hv(line).status == 0, line


def _poke(hvd: HvdInstance, data: bytes) -> None:
    with open(SimHost(hvd.root).zvol_file(DISK), "r+b") as f:
        f.write(data)


def _peek(hvd: HvdInstance) -> bytes:
    with open(SimHost(hvd.root).zvol_file(DISK), "rb") as f:
        return f.read(4)


def test_snapshot_list_rollback_delete(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    _web(hv)
    _poke(hvd, b"old!")
    r = hv("snapshot web base description clean")
    assert (r.status, r.out) == (0, "snapshot base of vm web taken, under commit 2\n"), r.err
    assert hv("snapshot web base").err == "hv: VM web already has a snapshot named 'base'\n"
    r = hv("snapshot web --json")
    taken = json.loads(r.out)
    assert taken["name"].startswith("hvd-")
    assert taken["commit-id"] == "2"  # uint64: a string (RFC 7951 §6.1)
    _poke(hvd, b"new!")
    listed = hv("snapshot list web").out.splitlines()
    assert listed[0].split() == ["NAME", "CREATED", "USED", "REFER", "HVD", "COMMIT",
                                 "DESCRIPTION"]
    assert listed[1].split()[0] == "base" and listed[1].split()[-3:] == ["yes", "2", "clean"]
    rows = json.loads(hv("snapshot list web --json").out)
    assert [x["name"] for x in rows] == ["base", taken["name"]]
    assert rows[0]["hvd-made"] is True and rows[0]["used"] == "0"

    r = hv("snapshot rollback web base --yes")
    assert r.status == 1 and f"newer snapshots exist and would be destroyed: {taken['name']}" \
        in r.err
    asked = [f"this will roll the disks of vm web back to snapshot base, losing what was "
             f"written to them since, and destroy the newer snapshots {taken['name']}",
             r"roll vm web back to base\? \[y/N\] "]
    assert answer(hvd, "snapshot rollback web base --destroy-newer", asked, "n",
                  "hv: did not roll vm web back to base") == 1
    assert _peek(hvd) == b"new!"
    assert answer(hvd, "snapshot rollback web base --destroy-newer", asked, "y",
                  "vm web rolled back to base: the disks are as they were") == 0
    assert _peek(hvd) == b"old!"

    r = hv_no_tty(hvd, "snapshot delete web base")
    assert r.returncode == 1 and "this will destroy snapshot base of vm web" in r.stderr
    assert "pass --yes" in r.stderr
    r = hv("snapshot delete web base --yes --json")
    assert json.loads(r.out) == {"destroyed": ["zroot/hv/vm/web@base",
                                               "zroot/hv/vm/web/disks@base",
                                               f"{DISK}@base"]}
    assert hv("snapshot list web").out == "vm web has no snapshots\n"


def test_snapshot_names_complete_in_a_terminal(hvd: HvdInstance,
                                               hv: Callable[..., Result]) -> None:
    """`hv snapshot rollback|delete VM <TAB>` completes the VM's snapshots that hvd made, read
    from the server; one made by hand is not offered (hvd would refuse it)."""
    _web(hv)
    for name in ("base", "before-upgrade"):
        assert hv(f"snapshot web {name}").status == 0
    SimHost(hvd.root).run(("zfs", "snapshot", "-r", "zroot/hv/vm/web@by-hand"))
    child = pexpect.spawn(HV[0], [*HV[1:], "--socket", str(hvd.socket_path)], encoding="utf-8",
                          timeout=30, env=dict(os.environ, TERM="xterm", COLUMNS="100"))
    try:
        child.expect("hv>")
        child.send("snapshot rollback web ")
        child.expect("before-upgrade")  # the menu, as the name is typed: hvd's two snapshots
        assert "base" in child.before and "by-hand" not in child.before
        child.send("bef")
        child.expect("before-upgrade")  # the one left; Tab takes it, Enter runs the command
        child.send("\t\r")
        child.expect(r"roll vm web back to before-upgrade\? \[y/N\]")
        child.sendline("n")
        child.expect("hv>")
        child.send("snapshot delete web ba")
        child.expect("base")
        child.send("\t\r")
        child.expect(r"delete snapshot base of vm web\? \[y/N\]")
        child.sendline("n")
        child.expect("hv>")
        child.sendline("exit")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    completer = HvCompleter(Names(Session(Options(socket=str(hvd.socket_path)))),
                            Session(Options(socket=str(hvd.socket_path))))
    assert [w for w, _ in completer.candidates(["snapshot", "rollback", "web"])] == [
        "base", "before-upgrade"]
    assert [w for w, _ in completer.candidates(["snapshot", "delete", "web"])] == [
        "base", "before-upgrade"]


def test_a_vm_snapshot_schedule_is_set_like_any_property(hvd: HvdInstance,
                                                         hv: Callable[..., Result]) -> None:
    _web(hv)
    r = hv("set vm web snapshot-schedule.hourly 24")
    assert r.status == 0, r.err
    assert "hourly" in hv("show vm web").out
    got = hvd.connect_uds().get_config("running", filter=(
        "subtree", '<vms xmlns="urn:hvd:vm"><vm><name>web</name><snapshot-schedule/></vm></vms>'))
    assert "<hourly>24</hourly>" in got.xml
    assert hv("set vm web snapshot-schedule.hourly -1").status != 0


def test_snapshot_schedule_shows_each_count_and_where_it_is_set(
        hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    _web(hv)
    r = hv("set snapshot-schedule hourly 24")
    assert (r.status, r.out) == (0, "set the host-wide hourly snapshots kept to 24\n"), r.err
    assert hv("set snapshot-schedule daily 7").status == 0
    assert hv("set snapshot-schedule weekly 1").status == 0
    assert hv("unset snapshot-schedule weekly").status == 0
    assert hv("set snapshot-schedule yearly 1").err == (
        "hv: no snapshot period 'yearly'; one of: frequent, hourly, daily, weekly, monthly\n")
    assert hv("set snapshot-schedule daily -1").status != 0
    got = hvd.connect_uds().get_config("running", filter=(
        "subtree", '<snapshot-schedule xmlns="urn:hvd:vm"/>')).xml
    assert "<hourly>24</hourly>" in got and "<daily>7</daily>" in got and "weekly" not in got
    assert hv("set vm web snapshot-schedule.daily 30").status == 0
    assert hv("snapshot schedule web").out.split("\n") == [
        "PERIOD    KEEP  SET BY", "frequent  0     default", "hourly    24    host",
        "daily     30    vm", "weekly    0     default", "monthly   0     default", ""]
    assert json.loads(hv("snapshot schedule web --json").out)["schedule"][2] == {
        "period": "daily", "keep": 30, "from": "vm"}


def test_a_running_vms_snapshot_says_how_consistent_it_is(hvd: HvdInstance,
                                                           hv: Callable[..., Result]) -> None:
    from e2e.helpers import guest_ready, standin

    _web(hv)
    assert hv("set vm web guest-agent true").status == 0
    standin(hvd.root, "web")
    assert hv("start web").status == 0
    guest_ready(hvd.root, "web")
    r = hv("snapshot web a")
    assert r.status == 0 and r.out.startswith("snapshot a of vm web taken, under commit 3 "
                                              "(the guest's file systems were frozen for "), r.err
    r = hv("snapshot web b --no-freeze")
    assert r.out == ("snapshot b of vm web taken, under commit 3 (the VM was running: its "
                     "disks are as after a power cut)\n")
    standin(hvd.root, "web", agent=False)
    r = hv("snapshot web c")
    assert r.out == ("snapshot c of vm web taken, under commit 3 (the VM was running: its "
                     "disks are as after a power cut; no answer from the guest agent within "
                     "2 s)\n")
    assert hv("stop web --force").status == 0
