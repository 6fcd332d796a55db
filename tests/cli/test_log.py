"""`hv log VM` and `hv log`: the supervisor's log of a VM and hvd's own, over NETCONF
(get-vm-log, get-log), bounded, and NACM-checked like the VM they belong to."""

from __future__ import annotations

import re
from collections.abc import Callable

from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.configs import hide_vm
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.users import UserDB
from tests.cli.conftest import Result

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def test_hv_log_of_a_vm_shows_its_life(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    for line in ("create vm web 1 256", "start web"):
        assert hv(line).status == 0, line
    bhyve_log = hvd.root / "vm/web/state/bhyve.log"
    wait_for(lambda: "guest running" in bhyve_log.read_text(), what="the stand-in guest up")
    assert hv("stop web force").status == 0
    r = hv("log web")
    assert r.status == 0, r.err
    lines = r.out.splitlines()
    assert re.fullmatch(f"{STAMP} stopped -> starting: start requested", lines[0])
    assert re.fullmatch(rf"{STAMP} starting -> running: bhyve started \(pid \d+\)", lines[1])
    assert re.fullmatch(f"{STAMP} running -> stopping: forced power-off requested", lines[2])
    assert "stop: forced power-off (bhyvectl --force-poweroff" in lines[3]
    assert re.fullmatch(rf"{STAMP} stopping -> stopped: the guest powered off \(exit 1\): .*",
                        lines[4])
    assert hv("log web lines 2").out.splitlines() == lines[-2:]
    assert hv("log web lines 2 --json").out == "[\n" + ",\n".join(
        f'  "{ln}"' for ln in lines[-2:]) + "\n]\n"
    r = hv("log web lines 10001")
    assert (r.status, r.err) == (2, "hv: lines must be in 1..10000, not 10001\n")


def test_an_unknown_vm_has_no_log(hv: Callable[..., Result]) -> None:
    r = hv("log ghost")
    assert (r.status, r.err) == (1, "hv: no VM named 'ghost' is configured\n")


def test_the_daemon_log_is_bounded(hvd: HvdInstance, hv: Callable[..., Result]) -> None:
    r = hv("log")
    assert r.status == 1
    assert r.err == (f"hv: hvd keeps no log file at {hvd.root}/.hvd/hvd.log (the daemon "
                     "writes it; see log-file in hvd.conf(5))\n")
    log = hvd.root / ".hvd/hvd.log"
    (hvd.root / ".hvd/hvd.log.1").write_text("".join(f"old {i}\n" for i in range(20)))
    log.write_text("".join(f"line {i}\n" for i in range(12000)) + "bad \x01 byte\n")
    r = hv("log")
    assert r.out.splitlines() == [f"line {i}" for i in range(11951, 12000)] + ["bad ? byte"]
    r = hv("log lines 10000")
    assert len(r.out.splitlines()) == 10000
    log.write_text("new 0\nnew 1\n")
    assert hv("log lines 4").out.splitlines() == ["old 18", "old 19", "new 0", "new 1"]


def test_nacm_the_log_of_a_vm_the_user_may_not_read(hvd: HvdInstance,
                                                    hv: Callable[..., Result]) -> None:
    assert hv("create vm web 1 256").status == 0
    assert hv("create vm db 1 256").status == 0
    assert hv("start web").status == 0
    m = hvd.connect_uds()
    m.edit_config(target="running", config=to_ele(hide_vm("web", "tester", extra_rules=(
        '<rule><name>no-daemon-log</name><module-name>hvd-system</module-name>'
        '<rpc-name>get-log</rpc-name><access-operations>exec</access-operations>'
        '<action>deny</action></rule>'))))
    ssh = hvd.connect_ssh()  # tester, over SSH: NACM applies
    rpc = ('<get-vm-log xmlns="urn:hvd:vm"><name>{}</name></get-vm-log>')
    for name, tag in (("web", "access-denied"), ("nosuch", "data-missing")):
        try:
            ssh.dispatch(to_ele(rpc.format(name)))
            raise AssertionError(f"get-vm-log of {name} answered")
        except RPCError as e:
            assert e.tag == tag, (name, e.message)
    reply = ssh.dispatch(to_ele(rpc.format("db")))
    assert "<line" not in reply.xml  # readable, and nothing happened to it yet
    try:
        ssh.dispatch(to_ele('<get-log xmlns="urn:hvd:system"/>'))
        raise AssertionError("get-log ran against an exec deny rule")
    except RPCError as e:
        assert e.tag == "access-denied"


def test_by_default_others_may_read_vm_logs_but_not_hvds(hvd: HvdInstance,
                                                         hv: Callable[..., Result]) -> None:
    assert hv("create vm web 1 256").status == 0
    (hvd.root / ".hvd/hvd.log").write_text("a line\n")
    UserDB.for_root(hvd.root).add("viewer", password="pw-viewer", groups=["staff"])
    ssh = hvd.connect_ssh(username="viewer", password="pw-viewer")
    ssh.dispatch(to_ele('<get-vm-log xmlns="urn:hvd:vm"><name>web</name></get-vm-log>'))
    try:
        ssh.dispatch(to_ele('<get-log xmlns="urn:hvd:system"/>'))
        raise AssertionError("a user outside the admin group read hvd's log")
    except RPCError as e:
        assert e.tag == "access-denied"
