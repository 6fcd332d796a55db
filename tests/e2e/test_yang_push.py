"""YANG-Push over NETCONF (RFC 8639, 8640, 8641), on the sim: a periodic subscription sends
one push-update a period; an on-change one sends the selection at its start, then a change
when a VM starts and when it stops; modify changes the period, delete ends it quietly, kill
(by an operator NACM lets) ends it with subscription-terminated; and a user without read
access to a VM gets none of its data in any push."""

from __future__ import annotations

import time
from typing import Any

import pytest
from e2e.helpers import guest_ready, standin, start_vm, stop_vm
from lxml import etree
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from notify.test_wire_notify import event_name
from notify.test_wire_notify import take as take_notification
from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, NACM, VM
from hvd_netconf.users import UserDB

SN = "urn:ietf:params:xml:ns:yang:ietf-subscribed-notifications"
YP = "urn:ietf:params:xml:ns:yang:ietf-yang-push"
N = {"sn": SN, "yp": YP, "v": VM, "p": "urn:ietf:params:xml:ns:yang:ietf-yang-patch"}
STATUS = f"<vms xmlns='{VM}'><vm><name/><state><status/></state></vm></vms>"


def establish(m: Any, trigger: str, selection: str = STATUS) -> int:
    reply = m.dispatch(to_ele(
        f"<establish-subscription xmlns='{SN}' xmlns:yp='{YP}' "
        "xmlns:ds='urn:ietf:params:xml:ns:yang:ietf-datastores'>"
        "<yp:datastore>ds:operational</yp:datastore>"
        f"<yp:datastore-subtree-filter>{selection}</yp:datastore-subtree-filter>"
        f"{trigger}</establish-subscription>"))
    return int(etree.fromstring(reply.xml.encode()).findtext(".//sn:id", namespaces=N) or 0)


def take(m: Any) -> etree._Element:
    return take_notification(m, timeout=10.0)


def add_vms(m: Any, *names: str) -> None:
    vms = "".join(f"<vm><name>{n}</name></vm>" for n in names)
    m.edit_config(target="running", config=f"<config xmlns='{BASE}'><vms xmlns='{VM}'>{vms}"
                                           "</vms></config>")


def test_periodic_one_update_a_period_then_modify_and_delete(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    add_vms(m, "web")
    sid = establish(m, "<yp:periodic><yp:period>30</yp:period></yp:periodic>")
    first = take(m)
    assert event_name(first) == "push-update"
    assert first.findtext(".//yp:id", namespaces=N) == str(sid)
    assert first.xpath(".//yp:datastore-contents/v:vms/v:vm/v:name/text()", namespaces=N) == [
        "web"]  # the selection as a <get> returns it
    start = time.monotonic()
    for _ in range(4):
        assert event_name(take(m)) == "push-update"
    spent = time.monotonic() - start
    assert 4 * 0.3 - 0.3 <= spent <= 4 * 0.3 + 0.3, spent  # N updates in N periods, +-1
    m.dispatch(to_ele(f"<modify-subscription xmlns='{SN}' xmlns:yp='{YP}'><id>{sid}</id>"
                      "<yp:periodic><yp:period>100</yp:period></yp:periodic>"
                      "</modify-subscription>"))
    assert event_name(take(m)) == "subscription-modified"
    m.dispatch(to_ele(f"<delete-subscription xmlns='{SN}'><id>{sid}</id>"
                      "</delete-subscription>"))
    while (n := m.take_notification(block=True, timeout=1.5)) is not None:  # one in flight
        assert event_name(etree.fromstring(n.notification_xml.encode())) == "push-update"
    with pytest.raises(RPCError) as err:
        m.dispatch(to_ele(f"<delete-subscription xmlns='{SN}'><id>{sid}</id>"
                          "</delete-subscription>"))
    assert f"no subscription {sid}" in err.value.message


def test_on_change_sends_the_start_then_each_change(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    add_vms(m, "web")
    sid = establish(m, "<yp:on-change/>")
    sync = take(m)
    assert event_name(sync) == "push-update"
    assert sync.xpath(".//v:status/text()", namespaces=N) == ["stopped"]
    standin(root, "web")
    start_vm(m, "web")
    guest_ready(root, "web")
    seen = []
    while "running" not in seen:
        env = take(m)
        assert event_name(env) == "push-change-update"
        assert env.findtext(".//yp:id", namespaces=N) == str(sid)
        assert env.findtext(".//p:edit/p:operation", namespaces=N) == "replace"
        assert env.findtext(".//p:edit/p:target", namespaces=N) == "/hvd-vm:vms"
        seen += env.xpath(".//p:value//v:status/text()", namespaces=N)
    stop_vm(m, "web")
    while "stopped" not in seen[-1:]:
        seen += take(m).xpath(".//p:value//v:status/text()", namespaces=N)
    assert seen[-1] == "stopped"


def test_kill_tells_the_subscriber_and_needs_nacm(hvd: HvdInstance) -> None:
    UserDB.for_root(hvd.root).add("rita", password="rita-pw")
    owner = hvd.connect_uds()
    sid = establish(owner, "<yp:periodic><yp:period>1000</yp:period></yp:periodic>")
    owner.dispatch(to_ele(f"<resync-subscription xmlns='{YP}'><id>{sid}</id>"
                          "</resync-subscription>"))
    resent = take_notification(owner, timeout=3.0)  # at once, not a period later
    assert event_name(resent) == "push-update"
    rita = hvd.connect_ssh(username="rita", password="rita-pw")
    kill = to_ele(f"<kill-subscription xmlns='{SN}'><id>{sid}</id></kill-subscription>")
    with pytest.raises(RPCError) as err:
        rita.dispatch(kill)  # nacm:default-deny-all
    assert err.value.tag == "access-denied"
    hvd.connect_uds().dispatch(kill)
    env = take(owner)
    while event_name(env) == "push-update":
        env = take(owner)
    assert event_name(env) == "subscription-terminated"
    assert env.findtext(".//sn:id", namespaces=N) == str(sid)


def test_a_user_gets_no_push_of_a_vm_she_may_not_read(hvd: HvdInstance) -> None:
    admin = hvd.connect_uds()
    add_vms(admin, "open", "secret")
    UserDB.for_root(hvd.root).add("rita", password="rita-pw", groups=["ops"])
    admin.edit_config(target="running", config=(
        f"<config xmlns='{BASE}'><nacm xmlns='{NACM}'>"
        "<rule-list><name>ops</name><group>ops</group>"
        "<rule><name>no-secret</name><module-name>hvd-vm</module-name>"
        "<path>/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='secret']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"
        "<rule><name>rest</name><module-name>*</module-name><access-operations>*"
        "</access-operations><action>permit</action></rule></rule-list>"
        "<rule-list><name>admin</name><group>admin</group><rule><name>all</name>"
        "<action>permit</action></rule></rule-list></nacm></config>"))
    rita = hvd.connect_ssh(username="rita", password="rita-pw")
    establish(rita, "<yp:periodic><yp:period>20</yp:period></yp:periodic>")
    for _ in range(3):
        env = take(rita)
        names = env.xpath(".//yp:datastore-contents//v:vm/v:name/text()", namespaces=N)
        assert names == ["open"], names
    establish(rita, "<yp:on-change/>")
    texts = [etree.tostring(take(rita)) for _ in range(4)]
    assert all(b"secret" not in t for t in texts)
