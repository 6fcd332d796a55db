"""The pure RFC 8341 evaluator: defaults, rule order, groups, paths, annotations, writes."""

from __future__ import annotations

import pytest
from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.nacm import Evaluator, NacmConfig, Subject, hvd_default, parse_config, to_xml
from hvd_netconf.nacm.model import parse_path
from hvd_netconf.namespaces import BASE, HVD, MONITORING, NACM, NETWORK, VM

ALICE = Subject("alice", frozenset({"ops"}))
BOB = Subject("bob")
ROOT = Subject("root", recovery=True)


def nacm(body: str) -> etree._Element:
    return etree.fromstring(
        f'<nacm xmlns="{NACM}" xmlns:v="{VM}">{body}</nacm>')


def data(xml: str) -> etree._Element:
    return etree.fromstring(f'<data xmlns="{BASE}">{xml}</data>')


VMS = (f'<vms xmlns="{VM}"><vm><name>web</name><cpu>2</cpu><memory>1024</memory></vm>'
       f'<vm><name>db</name><cpu>4</cpu></vm></vms>'
       f'<networks xmlns="{NETWORK}"><network><name>lan</name></network></networks>')


def chain(root: etree._Element, xpath: str) -> tuple[etree._Element, ...]:
    [el] = root.xpath(xpath, namespaces={"v": VM, "n": NETWORK})
    out = []
    while el is not None and el.getparent() is not None:
        out.append(el)
        el = el.getparent()
    return tuple(reversed(out))


def test_rfc_defaults_permit_exec_and_read_deny_write() -> None:
    ev = Evaluator(NacmConfig())
    root = data(VMS)
    assert ev.rpc_allowed(BOB, BASE, "edit-config")
    assert ev.data_allowed(BOB, chain(root, "//v:vm[v:name='web']/v:cpu"), "read")
    assert not ev.data_allowed(BOB, chain(root, "//v:vm[v:name='web']/v:cpu"), "update")


def test_default_deny_all_operations_and_nacm_tree() -> None:
    ev = Evaluator(NacmConfig())
    assert not ev.rpc_allowed(BOB, BASE, "kill-session")
    assert not ev.rpc_allowed(BOB, BASE, "delete-config")
    assert ev.rpc_allowed(BOB, BASE, "close-session")
    tree = data(f'<nacm xmlns="{NACM}"><enable-nacm>true</enable-nacm></nacm>')
    assert not ev.data_allowed(BOB, (tree[0],), "read")
    assert ev.filter_read(BOB, tree) == 1 and len(tree) == 0


def test_close_session_always_and_recovery_and_disabled_bypass() -> None:
    deny_all = parse_config(nacm(
        "<rule-list><name>x</name><group>*</group><rule><name>none</name>"
        "<access-operations>*</access-operations><action>deny</action></rule></rule-list>"))
    ev = Evaluator(deny_all)
    assert not ev.rpc_allowed(BOB, BASE, "get")
    assert ev.rpc_allowed(BOB, BASE, "close-session")
    assert ev.rpc_allowed(ROOT, BASE, "kill-session")
    root = data(VMS)
    assert ev.filter_read(ROOT, root) == 0 and len(root) == 2
    off = Evaluator(parse_config(nacm("<enable-nacm>false</enable-nacm>")))
    assert off.rpc_allowed(BOB, BASE, "kill-session")


def test_first_matching_rule_wins_in_list_order() -> None:
    cfg = parse_config(nacm(
        "<rule-list><name>a</name><group>ops</group>"
        "<rule><name>permit-lock</name><rpc-name>lock</rpc-name>"
        "<access-operations>exec</access-operations><action>permit</action></rule>"
        "<rule><name>deny-rest</name><rpc-name>*</rpc-name>"
        "<access-operations>exec</access-operations><action>deny</action></rule>"
        "</rule-list>"
        "<rule-list><name>b</name><group>*</group>"
        "<rule><name>permit-all</name><action>permit</action></rule></rule-list>"))
    ev = Evaluator(cfg)
    assert ev.rpc_allowed(ALICE, BASE, "lock")
    assert not ev.rpc_allowed(ALICE, BASE, "unlock")  # list a's deny comes first
    assert ev.rpc_allowed(BOB, BASE, "unlock")  # bob is not in ops: only list b applies


def test_groups_by_user_name_and_external_groups_switch() -> None:
    body = ("<groups><group><name>admins</name><user-name>bob</user-name></group></groups>"
            "<rule-list><name>a</name><group>admins</group><group>ops</group>"
            "<rule><name>k</name><rpc-name>kill-session</rpc-name><action>permit</action>"
            "</rule></rule-list>")
    ev = Evaluator(parse_config(nacm(body)))
    assert ev.rpc_allowed(BOB, BASE, "kill-session")
    assert ev.rpc_allowed(ALICE, BASE, "kill-session")
    ev = Evaluator(parse_config(nacm(
        "<enable-external-groups>false</enable-external-groups>" + body)))
    assert ev.rpc_allowed(BOB, BASE, "kill-session")
    assert not ev.rpc_allowed(ALICE, BASE, "kill-session")


def test_module_name_must_match() -> None:
    cfg = parse_config(nacm(
        "<rule-list><name>a</name><group>*</group>"
        "<rule><name>r</name><module-name>hvd-vm</module-name><rpc-name>*</rpc-name>"
        "<access-operations>exec</access-operations><action>deny</action></rule>"
        "</rule-list>"))
    ev = Evaluator(cfg)
    assert not ev.rpc_allowed(BOB, VM, "start-vm")
    assert ev.rpc_allowed(BOB, BASE, "get")


def test_path_rules_with_keys_for_read_and_write() -> None:
    cfg = parse_config(nacm(
        "<rule-list><name>a</name><group>ops</group>"
        "<rule><name>hide-db</name><path>/v:vms/v:vm[v:name='db']</path>"
        "<access-operations>read</access-operations><action>deny</action></rule>"
        "<rule><name>cpu</name><path>/v:vms/v:vm/v:cpu</path>"
        "<access-operations>update</access-operations><action>permit</action></rule>"
        "</rule-list>"))
    ev = Evaluator(cfg)
    root = data(VMS)
    assert ev.data_allowed(ALICE, chain(root, "//v:vm[v:name='web']/v:cpu"), "read")
    assert not ev.data_allowed(ALICE, chain(root, "//v:vm[v:name='db']/v:cpu"), "read")
    assert ev.data_allowed(ALICE, chain(root, "//v:vm[v:name='web']/v:cpu"), "update")
    assert not ev.data_allowed(ALICE, chain(root, "//v:vm[v:name='web']/v:memory"), "update")
    assert ev.filter_read(ALICE, root) == 1
    assert root.xpath("//v:vm/v:name/text()", namespaces={"v": VM}) == ["web"]
    assert root.find(f"{{{NETWORK}}}networks") is not None


def test_writes_create_update_delete_distinguished() -> None:
    cfg = parse_config(nacm(
        "<rule-list><name>a</name><group>ops</group>"
        "<rule><name>upd</name><path>/v:vms</path>"
        "<access-operations>update</access-operations><action>permit</action></rule>"
        "</rule-list>"))
    ev = Evaluator(cfg)
    before = etree.fromstring(f'<vm xmlns="{VM}"><name>web</name><cpu>2</cpu></vm>')
    changed = etree.fromstring(f'<vm xmlns="{VM}"><name>web</name><cpu>3</cpu></vm>')
    added = etree.fromstring(f'<vm xmlns="{VM}"><name>web</name><cpu>2</cpu><memory>1</memory>'
                             '</vm>')
    top = etree.Element(f"{{{VM}}}vms")
    assert list(ev.denied_writes(ALICE, before, changed, (top,))) == []
    [(_, op)] = ev.denied_writes(ALICE, before, added, (top,))
    assert op == "create"
    [(c, op)] = ev.denied_writes(ALICE, before, None, (top,))
    assert op == "delete" and c[-1] is before
    assert list(ev.denied_writes(ROOT, before, None, (top,))) == []


def test_notifications_rules() -> None:
    cfg = parse_config(nacm(
        "<rule-list><name>a</name><group>*</group>"
        "<rule><name>n</name><module-name>hvd-vm</module-name>"
        "<notification-name>vm-state-change</notification-name>"
        "<access-operations>read</access-operations><action>deny</action></rule>"
        "</rule-list>"))
    ev = Evaluator(cfg)
    assert not ev.notification_allowed(BOB, VM, "vm-state-change")
    assert ev.notification_allowed(ROOT, VM, "vm-state-change")


def test_hvd_default_admin_everything_others_read_only() -> None:
    ev = Evaluator(hvd_default("wheel"))
    admin = Subject("carol", frozenset({"wheel"}))
    for ns, name in ((BASE, "edit-config"), (BASE, "lock"), (BASE, "commit"),
                     (BASE, "kill-session"), (VM, "start-vm"), (HVD, "rollback")):
        assert ev.rpc_allowed(admin, ns, name), name
        assert not ev.rpc_allowed(BOB, ns, name), name
    for ns, name in ((BASE, "get"), (BASE, "get-config"), (MONITORING, "get-schema"),
                     (HVD, "get-commit-history"), (BASE, "close-session")):
        assert ev.rpc_allowed(BOB, ns, name), name
    nacm_tree = data(f'<nacm xmlns="{NACM}"/>')
    assert ev.data_allowed(admin, (nacm_tree[0],), "read")
    assert not ev.data_allowed(BOB, (nacm_tree[0],), "read")


def test_round_trip_through_xml() -> None:
    cfg = hvd_default("wheel")
    assert parse_config(to_xml(cfg)) == cfg
    pathcfg = parse_config(nacm(
        "<rule-list><name>a</name><group>*</group><rule><name>p</name>"
        "<path>/v:vms/v:vm[v:name='x']</path><action>deny</action></rule></rule-list>"))
    assert parse_config(etree.fromstring(etree.tostring(to_xml(pathcfg)))) == pathcfg


@pytest.mark.parametrize("bad", [
    "<read-default>maybe</read-default>",
    "<enable-nacm>yes</enable-nacm>",
    "<rule-list><name>a</name><rule><name>r</name><action>permit</action>"
    "<access-operations>write</access-operations></rule></rule-list>",
    "<rule-list><name>a</name><rule><name>r</name><action>permit</action>"
    "<rpc-name>x</rpc-name><path>/v:vms</path></rule></rule-list>",
    "<rule-list><name>a</name><rule><name>r</name><action>permit</action>"
    "<path>vms</path></rule></rule-list>",
    "<rule-list><name>a</name><rule><name>r</name><action>permit</action>"
    "<path>/zz:vms</path></rule></rule-list>",
])
def test_invalid_configurations_are_refused(bad: str) -> None:
    with pytest.raises(InvalidValue):
        parse_config(nacm(bad))


def test_parse_path_prefixes_and_predicates() -> None:
    steps = parse_path("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']/cpu")
    assert [(s.ns, s.name) for s in steps] == [(VM, "vms"), (VM, "vm"), (VM, "cpu")]
    assert steps[1].keys == ((VM, "name", "web"),)
    assert parse_path("/") == ()
