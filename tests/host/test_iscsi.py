"""iSCSI disks (issue 19 item 5): the iscsictl(8) and camcontrol(8) argv, checked against
their manual pages; the reading of `iscsictl -L --libxo json`; the attach procedure against a
scripted host; and the sim's iscsictl, which refuses as FreeBSD's does."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from hvd_netconf.errors import OperationFailed
from hvd_netconf.host import iscsi
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.host.specs import IscsiLun

IQN = "iqn.2026-01.org.example:vm1"
LUN = IscsiLun(portal="10.0.0.5", target=IQN, lun=1, serial=None, auth_nickname=None,
               login_timeout=3)


def test_golden_argv() -> None:
    # iscsictl(8) SYNOPSIS: iscsictl -A -p portal -t target [-u user -s secret] [-w timeout]
    assert iscsi.add(LUN) == ["iscsictl", "-A", "-p", "10.0.0.5", "-t", IQN]
    # iscsictl -A -n nickname [-c path]: the section of /etc/iscsi.conf with the CHAP secret
    nick = IscsiLun("10.0.0.5", IQN, 0, None, "vm1-disk", 30)
    assert iscsi.add(nick) == ["iscsictl", "-A", "-n", "vm1-disk"]
    # iscsictl -R [-p portal] [-t target]
    assert iscsi.remove("10.0.0.5", IQN) == ["iscsictl", "-R", "-p", "10.0.0.5", "-t", IQN]
    # iscsictl -L [-v] [-w timeout], with libxo's --libxo json (xo_parse_args(3))
    assert iscsi.list_sessions() == ["iscsictl", "-L", "--libxo", "json"]
    # camcontrol(8): inquiry [device id] [generic args] [-D] [-S] [-R]
    assert iscsi.serial("da3") == ["camcontrol", "inquiry", "da3", "-S"]


LISTED = json.dumps({"__version": "2", "iscsictl": {"session": [
    {"name": IQN, "portal": "10.0.0.5", "state": "Connected",
     "devices": {"lun": [{"lun": 0, "device": "da4"}, {"lun": 1, "device": "da2"}],
                 "scbus": 3, "bus": 0, "target": 0}},
    {"name": "iqn.2026-01.org.example:other", "portal": "10.0.0.6",
     "state": "Connection refused"}]}})


def test_sessions_are_read_with_each_luns_device() -> None:
    ours, other = iscsi.parse_sessions(LISTED)
    assert (ours.target, ours.portal, ours.state, ours.luns) == (
        IQN, "10.0.0.5", "Connected", {0: "da4", 1: "da2"})
    assert ours.failed is None and other.failed == "Connection refused"
    assert iscsi.parse_sessions('{"iscsictl": {}}') == []


class Scripted:
    """A host that answers iscsictl -L from a list of listings, one per call."""

    def __init__(self, listings: list[str], serial: str = "") -> None:
        self.listings = listings
        self.serial_text = serial
        self.ran: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        self.ran.append(tuple(argv))
        if tuple(argv) == tuple(iscsi.list_sessions()):
            return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        if argv[0] == "camcontrol":
            return self.serial_text
        return ""


def _listing(state: str, luns: dict[int, str] | None = None) -> str:
    s: dict[str, object] = {"name": IQN, "portal": "10.0.0.5", "state": state}
    if luns is not None:
        s["devices"] = {"lun": [{"lun": n, "device": d} for n, d in luns.items()]}
    return json.dumps({"iscsictl": {"session": [s]}})


NONE = json.dumps({"iscsictl": {}})


def test_attach_waits_for_the_lun_and_picks_it_by_number() -> None:
    run = Scripted([NONE, _listing("Disconnected"), _listing("Connected", {0: "da0", 1: "da7"})])
    assert iscsi.attach(run, "vm1", "data", LUN, sleep=lambda s: None) == ("/dev/da7", True)
    assert run.ran[1] == ("iscsictl", "-A", "-p", "10.0.0.5", "-t", IQN)
    assert ("iscsictl", "-R", "-p", "10.0.0.5", "-t", IQN) not in run.ran


def test_a_session_the_host_has_is_used_and_not_added() -> None:
    run = Scripted([_listing("Connected", {1: "da1"})])
    assert iscsi.attach(run, "vm1", "data", LUN, sleep=lambda s: None) == ("/dev/da1", False)
    assert [a for a in run.ran if a[1] != "-L"] == []


def test_a_refused_login_fails_and_removes_the_session() -> None:
    run = Scripted([NONE, _listing("Connection refused")])
    with pytest.raises(OperationFailed) as e:
        iscsi.attach(run, "vm1", "data", LUN, sleep=lambda s: None)
    assert e.value.message == (f"VM vm1: disk data: iSCSI target {IQN} at 10.0.0.5: "
                               "Connection refused")
    assert run.ran[-1] == ("iscsictl", "-R", "-p", "10.0.0.5", "-t", IQN)


def test_a_missing_lun_times_out_and_a_wrong_serial_is_refused() -> None:
    clock = iter(range(100)).__next__
    run = Scripted([NONE, _listing("Connected", {0: "da0"})])
    with pytest.raises(OperationFailed) as e:
        iscsi.attach(run, "vm1", "data", LUN, sleep=lambda s: None, clock=lambda: clock())
    assert e.value.message.endswith("connected, but it has no LUN 1 (it has 0) after 3 s")
    assert run.ran[-1][:2] == ("iscsictl", "-R")
    serial = IscsiLun("10.0.0.5", IQN, 1, "SER-1", None, 3)
    run = Scripted([NONE, _listing("Connected", {1: "da1"})], serial="SER-9\n")
    with pytest.raises(OperationFailed) as e:
        iscsi.attach(run, "vm1", "data", serial, sleep=lambda s: None)
    assert "LUN 1 (da1) has serial 'SER-9', not 'SER-1'" in e.value.message
    assert run.ran[-1][:2] == ("iscsictl", "-R")
    run = Scripted([NONE, _listing("Connected", {1: "da1"})], serial="SER-1\n")
    assert iscsi.attach(run, "vm1", "data", serial, sleep=lambda s: None)[0] == "/dev/da1"


def _fails(sim: SimHost, argv: tuple[str, ...]) -> str:
    with pytest.raises(CommandFailed) as e:
        sim.run(argv)
    return e.value.stderr


def test_the_sim_iscsictl_logs_in_against_its_table(tmp_path: Path) -> None:
    sim = SimHost(tmp_path)
    sim.iscsi_target("10.0.0.5", IQN, {0: "SER-0", 1: "SER-1"})
    assert sim.run(tuple(iscsi.list_sessions())).strip() == json.dumps(
        {"__version": "2", "iscsictl": {"session": []}})
    sim.run(("iscsictl", "-A", "-p", "10.0.0.9", "-t", IQN))  # nobody listens there
    sim.run(("iscsictl", "-A", "-p", "10.0.0.5", "-t", IQN + "x"))  # no such target
    sim.run(tuple(iscsi.add(LUN)))
    refused, missing, ours = iscsi.parse_sessions(sim.run(tuple(iscsi.list_sessions())))
    assert (refused.state, missing.state) == ("Connection refused", "Not found")
    assert ours.luns == {0: "da0", 1: "da1"}
    assert sim.run(tuple(iscsi.serial("da1"))) == "SER-1\n"
    assert _fails(sim, tuple(iscsi.add(LUN))) == "iscsictl: ISCSISADD: Device busy\n"
    assert _fails(sim, ("iscsictl", "-A", "-p", "10.0.0.5", "-t", "vm1")) == (
        'iscsictl: invalid target name "vm1"\n')
    sim.iscsi_portal("10.0.0.5", up=False)
    assert iscsi.parse_sessions(sim.run(tuple(iscsi.list_sessions())))[2].state == (
        "Connection refused")
    sim.iscsi_portal("10.0.0.5", up=True)
    assert iscsi.parse_sessions(sim.run(tuple(iscsi.list_sessions())))[2].luns == {
        0: "da0", 1: "da1"}
    sim.run(tuple(iscsi.remove("10.0.0.5", IQN)))
    assert _fails(sim, tuple(iscsi.remove("10.0.0.5", IQN))) == (
        "iscsictl: ISCSISREMOVE: No such process\n")
    assert "camcontrol: or da1 doesn't exist" in _fails(sim, tuple(iscsi.serial("da1")))
    # the state is in the sim's log: another process's view agrees
    assert len(iscsi.parse_sessions(SimHost(tmp_path).run(tuple(iscsi.list_sessions())))) == 2
