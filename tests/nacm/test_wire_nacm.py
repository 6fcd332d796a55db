"""NACM over the wire, as users who are NOT the recovery user: `nobody` over the Unix socket
(a child process that dropped root) and SSH users with and without the admin group."""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError
from retrieval.readside import attach_seeded
from support.rawclient import errors, is_ok
from support.server import HvdInstance
from support.unpriv import run_peer, shared_dir, unpriv_group

from hvd_netconf.host.zfs_schedule import Scheduled
from hvd_netconf.namespaces import BASE, NACM, NC_NOTIFICATIONS, NOTIF, VM, qn
from hvd_netconf.operational import vm_state_change
from hvd_netconf.ops.snapshot_schedule import event
from hvd_netconf.users import UserDB

NS = {"nc": BASE, "v": VM, "nacm": NACM}
NCN = {"ncn": NC_NOTIFICATIONS}
EDIT = (f'<edit-config><target><candidate/></target><config><vms xmlns="{VM}"><vm>'
        "<name>x</name></vm></vms></config></edit-config>")
GET_NACM = f'<get><filter><nacm xmlns="{NACM}"/></filter></get>'


@pytest.fixture
def hv(hvd_factory: Callable[..., HvdInstance]) -> Iterator[HvdInstance]:
    with shared_dir() as d:
        inst = hvd_factory(attach=attach_seeded, socket=d / "hvd.sock",
                           socket_group=unpriv_group())
        UserDB.for_root(inst.root).add("reader", password="read-only")
        yield inst
        inst.stop()


def tags(reply: etree._Element) -> list[tuple[str, str]]:
    return [(e["type"], e["tag"]) for e in errors(reply)]


def vm_names(reply: etree._Element) -> list[str]:
    return reply.xpath("//v:vm/v:name/text()", namespaces=NS)


def deny_rule(rule: str, group: str = "*") -> etree._Element:
    return etree.fromstring(
        f'<nacm xmlns="{NACM}" xmlns:v="{VM}"><rule-list><name>t</name><group>{group}</group>'
        f"{rule}</rule-list></nacm>")


def test_nobody_is_read_only_and_leaks_nothing(hv: HvdInstance) -> None:
    sid_holder = hv.connect_uds()  # a session to try to kill
    out = run_peer(hv.socket_path, [
        "<get-config><source><running/></source></get-config>",
        EDIT,
        "<lock><target><running/></target></lock>",
        "<commit/>",
        f"<kill-session><session-id>{sid_holder.session_id}</session-id></kill-session>",
        "<discard-changes/>",
        GET_NACM,
        "<get/>",
    ])
    info = hv.server.sessions.all()
    assert all(s.info.uid != 0 for s in info if s.info.username == "nobody")
    get_config, edit, lock, commit, kill, discard, get_nacm, get_all = out["replies"]
    assert vm_names(get_config) == ["db", "idle", "web"]
    for reply in (edit, lock, commit, kill, discard):
        assert tags(reply) == [("protocol", "access-denied")]
        [err] = errors(reply)
        assert err["info"] == {} and err["path"] is None and err["message"] == "access denied"
    assert get_nacm.find("nc:data", NS) is not None
    assert get_nacm.find(".//nacm:nacm", NS) is None
    assert get_all.find(".//nacm:nacm", NS) is None and vm_names(get_all)
    assert hv.server.locks.holder("running") is None
    assert hv.server.sessions.get(int(sid_holder.session_id)) is not None
    assert hv.server.nacm.denied_operations == 5


def test_counters_and_rules_visible_to_root(hv: HvdInstance) -> None:
    run_peer(hv.socket_path, ["<lock><target><running/></target></lock>"])
    reply = etree.fromstring(hv.connect_uds().get(("subtree", f'<nacm xmlns="{NACM}"/>')).xml
                             .encode())
    assert reply.findtext(".//nacm:denied-operations", namespaces=NS) == "1"
    assert reply.findtext(".//nacm:write-default", namespaces=NS) == "deny"
    groups = reply.xpath("//nacm:rule-list/nacm:group/text()", namespaces=NS)
    assert groups == ["admin", "*"]


def test_admin_group_member_over_ssh_may_write_reader_may_not(hv: HvdInstance) -> None:
    admin = hv.connect_ssh()
    admin.lock("running")
    admin.unlock("running")
    reader = hv.connect_ssh(username="reader", password="read-only")
    assert reader.get_config("running").data_xml
    for call in (lambda: reader.lock("running"), lambda: reader.commit(),
                 lambda: reader.kill_session(admin.session_id)):
        with pytest.raises(RPCError) as info:
            call()
        assert info.value.tag == "access-denied"
    assert hv.server.sessions.get(int(admin.session_id)) is not None
    admin.kill_session(reader.session_id)
    assert hv.server.sessions.get(int(reader.session_id)) is None


def test_recovery_user_passes_a_deny_all_rule_nobody_and_admin_do_not(hv: HvdInstance) -> None:
    hv.server.nacm.load(deny_rule(
        "<rule><name>all</name><access-operations>*</access-operations>"
        "<action>deny</action></rule>"))
    assert os.geteuid() == 0  # the Unix-socket client below is uid 0: the recovery session
    with hv.raw() as root:
        root.hello()
        assert is_ok(root.rpc("<lock><target><running/></target></lock>"))
        assert vm_names(root.rpc("<get-config><source><running/></source></get-config>"))
        assert is_ok(root.rpc("<unlock><target><running/></target></unlock>"))
    with pytest.raises(RPCError) as info:
        hv.connect_ssh().lock("running")
    assert info.value.tag == "access-denied"
    out = run_peer(hv.socket_path, ["<get-config><source><running/></source></get-config>",
                                    "<close-session/>"])
    assert tags(out["replies"][0]) == [("protocol", "access-denied")]
    assert is_ok(out["replies"][1])  # close-session is always allowed


def test_denied_subtree_is_silently_absent_from_reads(hv: HvdInstance) -> None:
    hv.server.nacm.load(deny_rule(
        "<rule><name>hide-db</name><path>/v:vms/v:vm[v:name='db']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"
        "<rule><name>ro</name><rpc-name>get*</rpc-name><action>permit</action></rule>"))
    out = run_peer(hv.socket_path, [
        "<get-config><source><running/></source></get-config>",
        "<get/>",
        f'<get-config><source><candidate/></source><filter type="xpath" '
        f'xmlns:v="{VM}" select="/v:vms/v:vm[v:name=\'db\']"/></get-config>',
    ])
    full, get, filtered = out["replies"]
    assert vm_names(full) == ["idle", "web"]
    assert vm_names(get) == ["idle", "web"]
    assert vm_names(filtered) == [] and not errors(filtered)
    with hv.raw() as root:
        root.hello()
        assert "db" in vm_names(root.rpc("<get-config><source><running/></source></get-config>"))


def test_get_schema_of_an_unreadable_module(hv: HvdInstance) -> None:
    hv.server.nacm.load(deny_rule(
        "<rule><name>no-vm</name><module-name>hvd-vm</module-name>"
        "<access-operations>read</access-operations><action>deny</action></rule>"))
    ask = ('<get-schema xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring">'
           "<identifier>{}</identifier></get-schema>")
    out = run_peer(hv.socket_path, [ask.format("hvd-vm"), ask.format("hvd-network"),
                                    "<get-config><source><running/></source></get-config>"])
    vm, net, data = out["replies"]
    assert tags(vm) == [("protocol", "invalid-value")]
    assert "module hvd-network" in etree.tostring(net).decode()
    assert vm_names(data) == [] and data.find(".//{urn:hvd:network}network") is not None
    with hv.raw() as root:
        root.hello()
        assert not errors(root.rpc(ask.format("hvd-vm")))


def test_unreadable_module_is_not_listed(hv: HvdInstance) -> None:
    """A module the user may not read is missing from /netconf-state/schemas and from
    /yang-library, as it is from get-schema (which answers as for an unknown module)."""
    hv.server.nacm.load(deny_rule(
        "<rule><name>no-vm</name><module-name>hvd-vm</module-name>"
        "<access-operations>read</access-operations><action>deny</action></rule>"))
    get = ('<get><filter><netconf-state xmlns="urn:ietf:params:xml:ns:yang:'
           'ietf-netconf-monitoring"><schemas/></netconf-state><yang-library xmlns="urn:ietf:'
           'params:xml:ns:yang:ietf-yang-library"/></filter></get>')
    listed = ("//ncm:schema/ncm:identifier/text() | "
              "//yl:module/yl:name/text() | //yl:import-only-module/yl:name/text()")
    ns = {"ncm": "urn:ietf:params:xml:ns:yang:ietf-netconf-monitoring",
          "yl": "urn:ietf:params:xml:ns:yang:ietf-yang-library"}
    [reply] = run_peer(hv.socket_path, [get])["replies"]
    names = reply.xpath(listed, namespaces=ns)
    assert "hvd-vm" not in names and "hvd-network" in names and "ietf-netconf" in names
    with hv.raw() as root:
        root.hello()
        assert "hvd-vm" in root.rpc(get).xpath(listed, namespaces=ns)


def test_notification_content_follows_read_rules(hv: HvdInstance) -> None:
    """A user who may not read VM db gets no vm-state-change about it, and the edits of db
    are left out of netconf-config-change (RFC 8341 §3.4.6); what they may read still comes."""
    hv.server.nacm.load(deny_rule(
        "<rule><name>hide-db</name><path>/v:vms/v:vm[v:name='db']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"))
    edit = (f'<edit-config><target><running/></target><config><vms xmlns="{VM}">'
            "{}</vms></config></edit-config>")
    both = "<vm><name>db</name><cpu>2</cpu></vm><vm><name>web</name><cpu>3</cpu></vm>"
    with hv.raw_ssh() as c, hv.raw() as root:  # tester: not root, the admin rule-list gone
        c.hello()
        root.hello()
        assert is_ok(c.rpc(f'<create-subscription xmlns="{NOTIF}"/>'))
        assert is_ok(root.rpc(edit.format(both)))
        first = c.read_xml()
        assert is_ok(root.rpc(edit.format("<vm><name>db</name><cpu>1</cpu></vm>")))
        assert is_ok(root.rpc(edit.format("<vm><name>web</name><cpu>1</cpu></vm>")))
        second = c.read_xml()
        bus = hv.server.notifications
        bus.publish(vm_state_change("db", "stopped", "starting", "start-vm", None))
        bus.publish(vm_state_change("web", "stopped", "starting", "start-vm", None))
        third = c.read_xml()
    web = ["/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']"]
    assert first.xpath("//ncn:edit/ncn:target/text()", namespaces=NCN) == web
    # the db-only commit sent nothing: the next notification is web's commit
    assert second.xpath("//ncn:edit/ncn:target/text()", namespaces=NCN) == web
    assert third.findtext(f"{{{VM}}}vm-state-change/{{{VM}}}name") == "web"
    assert hv.server.nacm.denied_notifications == 0


def test_scheduled_snapshot_events_follow_read_rules(hv: HvdInstance) -> None:
    """snapshot-taken / snapshot-pruned about a VM the user may not read are not sent."""
    hv.server.nacm.load(deny_rule(
        "<rule><name>hide-db</name><path>/v:vms/v:vm[v:name='db']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"))
    snap = Scheduled("hvd-auto-hourly-2026-12-03T1700Z", "hourly",
                     datetime(2026, 12, 3, 17, tzinfo=UTC))
    with hv.raw_ssh() as c:
        c.hello()
        assert is_ok(c.rpc(f'<create-subscription xmlns="{NOTIF}"/>'))
        bus = hv.server.notifications
        assert bus is not None
        for kind in ("snapshot-taken", "snapshot-pruned"):
            bus.publish(event(kind, "db", snap))
            bus.publish(event(kind, "web", snap))
        got = [c.read_xml(), c.read_xml()]
    assert [(etree.QName(n[1]).localname, n[1].findtext(f"{{{VM}}}vm")) for n in got] == [
        ("snapshot-taken", "web"), ("snapshot-pruned", "web")]


def test_denied_notifications_are_not_delivered(hv: HvdInstance) -> None:
    hv.server.nacm.load(deny_rule(
        "<rule><name>no-vm-events</name><module-name>hvd-vm</module-name>"
        "<notification-name>vm-state-change</notification-name>"
        "<access-operations>read</access-operations><action>deny</action></rule>"))
    with hv.raw_ssh() as c:  # tester: not root, and the admin rule-list is gone
        c.hello()
        assert is_ok(c.rpc(f'<create-subscription xmlns="{NOTIF}"/>'))
        session = next(s for s in hv.server.sessions.all() if s.info.username == "tester")
        session.send_notification(_notification(f'<vm-state-change xmlns="{VM}"/>'))
        session.send_notification(_notification(
            '<replayComplete xmlns="urn:ietf:params:xml:ns:netmod:notification"/>'))
        session.send_notification(_notification(f'<vm-other xmlns="{VM}"/>'))
        first = c.read_xml()
        second = c.read_xml()
    assert first[1].tag.endswith("replayComplete")
    assert second[1].tag == qn(VM, "vm-other")
    assert hv.server.nacm.denied_notifications == 1


def _notification(event: str) -> Any:
    return etree.fromstring(
        f'<notification xmlns="{NOTIF}"><eventTime>2025-01-01T00:00:00Z</eventTime>'
        f"{event}</notification>")


def test_unix_peer_not_in_socket_group_cannot_connect(hvd_factory: Callable[..., HvdInstance]
                                                      ) -> None:
    with shared_dir() as d:
        inst = hvd_factory(attach=attach_seeded, socket=d / "hvd.sock", ssh=False)
        out = run_peer(inst.socket_path, ["<get/>"])
        assert "PermissionError" in out["error"]
        assert os.stat(inst.socket_path).st_mode & 0o007 == 0
        inst.stop()


def test_identity_comes_from_peer_credentials_not_the_preamble(hv: HvdInstance) -> None:
    out = run_peer(hv.socket_path, ["<get/>"], preamble="root")
    assert "error" in out
    ok = run_peer(hv.socket_path, ["<lock><target><running/></target></lock>"],
                  preamble="nobody")
    assert tags(ok["replies"][0]) == [("protocol", "access-denied")]


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can run the peer as nobody")
def test_peer_runs_from_a_clone_only_its_owner_can_enter(hv: HvdInstance, tmp_path: Path
                                                         ) -> None:
    """A clone under a 0700 directory (root's home): nobody cannot read tests/support there,
    so run_peer must not make nobody read the peer from the clone."""
    support = Path(__file__).resolve().parents[1] / "support"
    clone = tmp_path / "home" / "support"
    clone.mkdir(parents=True)
    (tmp_path / "home").chmod(0o700)
    for name in ("unpriv.py", "peer.py", "frames.py"):
        shutil.copyfile(support / name, clone / name)
    spec = importlib.util.spec_from_file_location("unpriv_in_clone", clone / "unpriv.py")
    assert spec is not None and spec.loader is not None
    unpriv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(unpriv)
    out = unpriv.run_peer(hv.socket_path, ["<lock><target><running/></target></lock>"])
    assert tags(out["replies"][0]) == [("protocol", "access-denied")], out


def test_paths_are_tmp(hv: HvdInstance) -> None:
    assert Path(hv.socket_path).parent.stat().st_mode & 0o777 == 0o711


def _edit(vms: str, target: str = "candidate") -> str:
    return (f'<edit-config><target><{target}/></target><config><vms xmlns="{VM}" '
            f'xmlns:nc="{BASE}">{vms}</vms></config></edit-config>')


def test_data_write_rules_fail_the_whole_edit(hv: HvdInstance) -> None:
    hv.server.nacm.load(deny_rule(
        "<rule><name>web</name><path>/v:vms/v:vm[v:name='web']</path>"
        "<access-operations>update</access-operations><action>permit</action></rule>"
        "<rule><name>ops</name><rpc-name>*</rpc-name><access-operations>exec</access-operations>"
        "<action>permit</action></rule>", group="admin"))
    with hv.raw_ssh() as c:  # tester, in group admin, NOT the recovery user
        c.hello()
        assert is_ok(c.rpc(_edit("<vm><name>web</name><cpu>3</cpu></vm>")))
        for body in ("<vm><name>web</name><cpu>5</cpu></vm><vm><name>x</name></vm>",  # create
                     '<vm nc:operation="delete"><name>db</name></vm>',  # delete
                     "<vm><name>db</name><cpu>8</cpu></vm>",  # update, not permitted for db
                     '<vm><name>web</name><description nc:operation="create">d</description>'
                     "</vm>"):  # create inside web: only update is permitted
            [err] = errors(c.rpc(_edit(body)))
            assert (err["type"], err["tag"]) == ("application", "access-denied"), body
        cand = c.rpc("<get-config><source><candidate/></source></get-config>")
        assert cand.xpath("//v:vm[v:name='web']/v:cpu/text()", namespaces=NS) == ["3"]
        assert sorted(vm_names(cand)) == ["db", "idle", "new", "web"]
        assert cand.xpath("//v:vm[v:name='db']/v:cpu/text()", namespaces=NS) == ["4"]
        copy = (f'<copy-config><target><candidate/></target><source><config>'
                f'<vms xmlns="{VM}"><vm><name>web</name></vm></vms></config></source>'
                "</copy-config>")
        [err] = errors(c.rpc(copy))
        assert err["tag"] == "access-denied"
    assert hv.server.nacm.denied_data_writes == 5
    with hv.raw() as root:  # the recovery session may still do all of it
        root.hello()
        assert is_ok(root.rpc(_edit('<vm nc:operation="delete"><name>db</name></vm>')))
