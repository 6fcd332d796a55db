"""Issue 19 item 5, iSCSI disks, over NETCONF on the sim: a VM whose disks are LUNs of a target
in the sim's table starts with each LUN's own da device (picked by LUN number, though the da
numbers come in another order), shows its sessions in its state, tells a lost and a returned
session as notifications, and removes the session when it stops; a portal that does not
answer fails the start with iscsid's reason and leaves no session; a target is one VM's."""

from __future__ import annotations

import json

import pytest
from e2e.helpers import config, next_event, standin, start_vm, stop_vm, vm_state, vm_xml
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host import iscsi
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

IQN = "iqn.2026-01.org.example:store"
N = {"v": VM}


def lun_disk(name: str, lun: int, portal: str = "10.0.0.5", extra: str = "") -> str:
    return (f"<disk><name>{name}</name><iscsi><portal>{portal}</portal><target>{IQN}</target>"
            f"<lun>{lun}</lun>{extra}</iscsi></disk>")


def sessions(root) -> list[iscsi.Session]:  # type: ignore[no-untyped-def]
    return iscsi.parse_sessions(SimHost(root).run(tuple(iscsi.list_sessions())))


def iscsi_state(m, vm: str) -> list[tuple[str | None, ...]]:  # type: ignore[no-untyped-def]
    reply = m.get(filter=("subtree", f"<vms xmlns='{VM}'><vm><name>{vm}</name><state>"
                                     "<iscsi-disk/></state></vm></vms>"))
    return [tuple(d.findtext(f"v:{k}", namespaces=N) for k in ("disk", "lun", "device",
                                                                 "session"))
            for d in etree.fromstring(reply.xml.encode()).iterfind(".//v:iscsi-disk", N)]


def change(m) -> tuple[str | None, ...]:  # type: ignore[no-untyped-def]
    return next_event(m, VM, "iscsi-session-change", ("vm", "disk", "previous", "session"))


def test_a_vm_on_two_luns_starts_with_each_luns_device(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    sim = SimHost(root)
    sim.iscsi_target("10.0.0.5", IQN, {0: "SER-0", 1: "SER-1"})
    # a session of another target comes first, so this one's da numbers start at 1
    sim.iscsi_target("10.0.0.7", "iqn.2026-01.org.example:other", {0: "X"})
    sim.run(("iscsictl", "-A", "-p", "10.0.0.7", "-t", "iqn.2026-01.org.example:other"))
    disks = lun_disk("data", 1, extra="<serial>SER-1</serial>") + lun_disk("logs", 0)
    m.edit_config(config(vms=vm_xml("db", disks={"sys": "1G"},
                                    extra="<boot-device>sys</boot-device>" + disks)),
                  target="running")
    standin(root, "db")
    start_vm(m, "db")
    wait_for(lambda: vm_state(m, "db")["status"] == "running", what="db to run")
    argv = json.loads((root / "vm/db/state/run.json").read_text())["argv"]
    assert "4,virtio-blk,/dev/da2" in argv and "5,virtio-blk,/dev/da1" in argv
    assert iscsi_state(m, "db") == [("data", "1", "da2", "Connected"),
                                    ("logs", "0", "da1", "Connected")]
    watch = vmhvd.server.iscsi_watch
    assert watch is not None
    watch.run_pass()
    m.create_subscription()
    sim.iscsi_portal("10.0.0.5", up=False)
    watch.run_pass()
    assert {change(m), change(m)} == {("db", "data", "Connected", "Connection refused"),
                                      ("db", "logs", "Connected", "Connection refused")}
    assert iscsi_state(m, "db")[0] == ("data", "1", None, "Connection refused")
    sim.iscsi_portal("10.0.0.5", up=True)
    watch.run_pass()
    assert {change(m)[3], change(m)[3]} == {"Connected"}
    stop_vm(m, "db")
    wait_for(lambda: vm_state(m, "db")["status"] == "stopped", what="db to stop")
    assert [s.target for s in sessions(root)] == ["iqn.2026-01.org.example:other"]
    assert iscsi_state(m, "db") == []
    start_vm(m, "db")
    wait_for(lambda: vm_state(m, "db")["status"] == "running", what="db to run again")
    assert len(sessions(root)) == 2
    m.edit_config(config(vms=vm_xml("db", op="delete")), target="running")
    assert [s.target for s in sessions(root)] == ["iqn.2026-01.org.example:other"]
    assert sim.state()["iscsi"]["targets"]["10.0.0.5:3260"][IQN] == {"0": "SER-0",
                                                                      "1": "SER-1"}


def test_a_portal_that_does_not_answer_fails_the_start_and_leaves_nothing(
        vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("db", disks={"sys": "1G"},
                                    extra="<boot-device>sys</boot-device>"
                                    + lun_disk("data", 0, portal="10.0.0.99"))),
                  target="running")
    standin(root, "db")
    with pytest.raises(RPCError) as e:
        start_vm(m, "db")
    assert e.value.message == (f"VM db: disk data: iSCSI target {IQN} at 10.0.0.99: "
                               "Connection refused")
    assert sessions(root) == [] and vm_state(m, "db")["status"] == "stopped"
    assert SimHost(root).state()["vmm"] == {}
    taps = [n for n in SimHost(root).state()["interfaces"] if n.startswith("tap")]
    assert taps == []


def test_a_target_is_one_vms_and_a_lun_one_disks(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("db", extra=lun_disk("data", 0))), target="running")
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("web", extra=lun_disk("data", 1))), target="running")
    assert e.value.message == (
        f"disk data of VM web: iSCSI target {IQN} at 10.0.0.5 is already used by VM db; a "
        "target is one VM's, since the session goes when that VM stops")
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("db", extra=lun_disk("more", 0))), target="running")
    assert e.value.message == (
        f"disk more of VM db: LUN 0 of {IQN} is already disk data; two disks on one LUN "
        "would overwrite each other")
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("db", extra=lun_disk("more", 0).replace(
            IQN, "store"))), target="running")
    assert e.value.message == ("an iSCSI name is iqn.YYYY-MM.domain[:name], eui. and 16 hex "
                               "digits, or naa. and 16 or 32 (RFC 7143)")
