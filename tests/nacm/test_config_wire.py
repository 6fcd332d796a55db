"""Issue 7: the NACM rules are configuration (/nacm of ietf-netconf-acm), committed over the
wire by an admin and enforced at once, stored under the root and used again after a restart.
Every client here is an SSH user, never the recovery user: `tester` is in the admin group,
`olga` in `ops`, `rita` in no group."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e.helpers import kill_standins, standin, tree_digest, wait_for
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele
from support.server import on_disk, start_hvd

from hvd_netconf.namespaces import BASE, NACM, NETWORK, VM
from hvd_netconf.users import UserDB

N = {"nc": BASE, "v": VM, "nacm": NACM}


def rule(name: str, body: str, ops: str = "exec", action: str = "permit") -> str:
    return (f"<rule><name>{name}</name>{body}<access-operations>{ops}</access-operations>"
            f"<action>{action}</action></rule>")


RULES = (
    f'<nacm xmlns="{NACM}">'
    "<rule-list><name>admin</name><group>admin</group>"
    "<rule><name>all</name><action>permit</action></rule></rule-list>"
    "<rule-list><name>ops</name><group>ops</group>"
    + rule("start", "<module-name>hvd-vm</module-name><rpc-name>start-vm</rpc-name>")
    + rule("edit", "<module-name>ietf-netconf</module-name><rpc-name>edit-config</rpc-name>")
    + rule("vms", "<module-name>hvd-vm</module-name><path>/hvd-vm:vms</path>",
           ops="create update delete")
    + "</rule-list><rule-list><name>everyone</name><group>*</group>"
    + rule("get-config", "<module-name>ietf-netconf</module-name><rpc-name>get-config</rpc-name>")
    + rule("others", "<rpc-name>*</rpc-name>", action="deny")
    + "</rule-list></nacm>"
)


def wrap(*parts: str) -> str:
    return f'<config xmlns="{BASE}">{"".join(parts)}</config>'


def vm(name: str, extra: str = "") -> str:
    return f'<vms xmlns="{VM}"><vm><name>{name}</name>{extra}</vm></vms>'


def call(m: manager.Manager, xml: str) -> etree._Element:
    return etree.fromstring(m.dispatch(to_ele(xml)).xml.encode())


def start_vm(m: manager.Manager, name: str) -> etree._Element:
    return call(m, f'<start-vm xmlns="{VM}"><name>{name}</name></start-vm>')


def denied(fn: Callable[[], object]) -> str:
    """The error-type of the access-denied that `fn` must fail with."""
    with pytest.raises(RPCError) as info:
        fn()
    assert info.value.tag == "access-denied", info.value
    return str(info.value.type)


def running(m: manager.Manager) -> etree._Element:
    return etree.fromstring(m.get_config("running").xml.encode())


def vm_status(m: manager.Manager, name: str) -> str | None:
    reply = m.get(filter=("subtree", f'<vms xmlns="{VM}"><vm><name>{name}</name><state/>'
                                     "</vm></vms>"))
    return etree.fromstring(reply.xml.encode()).findtext(".//v:vm/v:state/v:status",
                                                         namespaces=N)


class Site:
    """One root, served by one hvd at a time (restart() starts the next on the same root)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.inst = start_hvd(base)
        db = UserDB.for_root(self.inst.root)
        db.add("olga", password="olga-pw", groups=["ops"])
        db.add("rita", password="rita-pw")

    @property
    def root(self) -> Path:
        return self.inst.root

    def admin(self) -> manager.Manager:
        return self.inst.connect_ssh()

    def olga(self) -> manager.Manager:
        return self.inst.connect_ssh(username="olga", password="olga-pw")

    def rita(self) -> manager.Manager:
        return self.inst.connect_ssh(username="rita", password="rita-pw")

    def restart(self) -> None:
        self.inst.stop()
        self.inst = start_hvd(self.base)

    def stop(self) -> None:
        try:
            self.inst.stop()
        finally:
            kill_standins(self.root)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    s = Site(tmp_path / "site")
    try:
        admin = s.admin()
        admin.edit_config(target="running", config=wrap(vm("web")))
        standin(s.root, "web")
        yield s
    finally:
        s.stop()


def commit_rules(m: manager.Manager, rules: str = RULES) -> None:
    m.edit_config(target="candidate", config=wrap(rules))
    m.commit()
    on_disk(m)


def test_committed_rules_are_enforced_at_once(site: Site) -> None:
    admin, olga, rita = site.admin(), site.olga(), site.rita()
    # hvd's default rules: only the admin group may do anything but read.
    assert denied(lambda: start_vm(olga, "web")) == "protocol"
    commit_rules(admin)
    assert (site.root / "config" / "nacm.xml").read_bytes().startswith(b"<?xml")

    # ops may start a VM and edit /vms, and nothing more.
    start_vm(olga, "web")
    wait_for(lambda: vm_status(admin, "web") == "running", what="web to run")
    olga.edit_config(target="running", config=wrap(vm("web", "<cpu>2</cpu>")))
    assert running(admin).findtext(".//v:vm[v:name='web']/v:cpu", namespaces=N) == "2"
    assert denied(lambda: olga.edit_config(
        target="running", config=wrap(f'<networks xmlns="{NETWORK}"><network>'
                                      "<name>lan</name></network></networks>"))) == "application"
    assert denied(lambda: olga.lock("running")) == "protocol"
    # Editing the rules is a write of /nacm: default-deny-all, ops has no rule for it.
    assert denied(lambda: olga.edit_config(target="running", config=wrap(
        f'<nacm xmlns="{NACM}"><enable-nacm>false</enable-nacm></nacm>'))) == "application"

    # Not in ops: still denied.
    assert denied(lambda: start_vm(rita, "web")) == "protocol"
    assert denied(lambda: rita.edit_config(target="running",
                                           config=wrap(vm("web", "<cpu>3</cpu>")))) == "protocol"

    # /nacm is seen by the admin group only.
    for m in (olga, rita):
        data = running(m)
        assert data.find(".//nacm:nacm", N) is None
        assert data.xpath("//v:vm/v:name/text()", namespaces=N) == ["web"]
    mine = running(admin).find(".//nacm:nacm", N)
    assert mine is not None
    assert mine.xpath("nacm:rule-list/nacm:name/text()", namespaces=N) == [
        "admin", "ops", "everyone"]


def test_rules_survive_a_restart(site: Site) -> None:
    commit_rules(site.admin())
    stored = (site.root / "config" / "nacm.xml").read_bytes()
    site.restart()
    assert (site.root / "config" / "nacm.xml").read_bytes() == stored
    site.olga().edit_config(target="running", config=wrap(vm("web", "<cpu>2</cpu>")))
    rita = site.rita()
    assert denied(lambda: rita.edit_config(target="running",
                                           config=wrap(vm("web", "<cpu>3</cpu>")))) == "protocol"
    assert running(rita).find(".//nacm:nacm", N) is None
    assert running(site.admin()).find(".//nacm:nacm", N) is not None


def test_cancelled_confirmed_commit_and_rollback_restore_the_rules(site: Site) -> None:
    admin, olga = site.admin(), site.olga()
    admin.edit_config(target="candidate", config=wrap(RULES))
    admin.commit(confirmed=True, timeout="60")
    olga.edit_config(target="running", config=wrap(vm("web", "<cpu>2</cpu>")))
    admin.cancel_commit()
    on_disk(admin)
    assert denied(lambda: olga.edit_config(target="running",
                                           config=wrap(vm("web", "<cpu>3</cpu>")))) == "protocol"
    assert not (site.root / "config" / "nacm.xml").exists()

    commit_rules(admin)
    olga.edit_config(target="running", config=wrap(vm("web", "<cpu>4</cpu>")))
    history = call(admin, '<get-commit-history xmlns="urn:hvd:system"/>')
    ids = history.xpath("//h:commit[h:changes/h:kind='nacm']/h:id/text()",
                        namespaces={"h": "urn:hvd:system"})
    first_rules = min(int(i) for i in ids)
    call(admin, f'<rollback xmlns="urn:hvd:system"><id>{first_rules - 1}</id>'
                "<commit>true</commit></rollback>")
    assert denied(lambda: olga.edit_config(target="running",
                                           config=wrap(vm("web", "<cpu>5</cpu>")))) == "protocol"
    assert running(admin).find(".//nacm:nacm", N) is None


BAD_ACTION = (f'<nacm xmlns="{NACM}"><rule-list><name>ops</name><group>ops</group>'
              + rule("start", "<rpc-name>start-vm</rpc-name>", action="allow")
              + "</rule-list></nacm>")
TWO_TYPES = (f'<nacm xmlns="{NACM}"><rule-list><name>ops</name><group>ops</group>'
             + rule("both", "<rpc-name>start-vm</rpc-name><path>/hvd-vm:vms</path>")
             + "</rule-list></nacm>")
BAD_PREFIX = (f'<nacm xmlns="{NACM}"><rule-list><name>ops</name><group>ops</group>'
              + rule("p", "<path>/nope:vms</path>", ops="update")
              + "</rule-list></nacm>")


def test_an_invalid_rule_is_refused_and_changes_nothing(site: Site) -> None:
    admin = site.admin()
    commit_rules(admin)
    before = tree_digest(site.root)
    attempts: list[tuple[Callable[[], object], str]] = [
        (lambda: admin.edit_config(target="running", config=wrap(BAD_ACTION)), "invalid-value"),
        (lambda: admin.edit_config(target="candidate", config=wrap(BAD_ACTION)),
         "invalid-value"),
        (lambda: call(admin, f'<copy-config xmlns="{BASE}"><target><running/></target>'
                             f"<source>{wrap(BAD_ACTION)}</source></copy-config>"),
         "invalid-value"),
        # data for two cases of the rule-type choice: RFC 7950 §8.3.1
        (lambda: admin.edit_config(target="running", config=wrap(TWO_TYPES)), "bad-element"),
        (lambda: admin.edit_config(target="running", config=wrap(BAD_PREFIX)), "invalid-value"),
    ]
    for attempt, tag in attempts:
        with pytest.raises(RPCError) as info:
            attempt()
        assert info.value.tag == tag, info.value
    assert tree_digest(site.root) == before
    # The rules in force are still the committed ones: ops may edit, rita may not.
    site.olga().edit_config(target="running", config=wrap(vm("web", "<cpu>2</cpu>")))
    assert denied(lambda: site.rita().edit_config(
        target="running", config=wrap(vm("web", "<cpu>3</cpu>")))) == "protocol"


def test_a_stored_rule_hvd_cannot_enforce_stops_the_start(tmp_path: Path) -> None:
    site = Site(tmp_path / "site")
    commit_rules(site.admin())
    site.inst.stop()
    file = site.root / "config" / "nacm.xml"
    good = file.read_bytes()
    for bad, needle in ((good.replace(b"<action>deny</action>", b"<action>maybe</action>"),
                         "maybe"),
                        (good.replace(b"/hvd-vm:vms", b"/nope:vms"), "nope")):
        assert bad != good
        file.write_bytes(bad)
        with pytest.raises(Exception) as info:
            start_hvd(site.base)
        assert str(file) in str(info.value) and needle in str(info.value)
    file.write_bytes(good)
    site.inst = start_hvd(site.base)
    site.stop()


def test_compare_and_get_show_nacm_to_the_admin_group_only(site: Site) -> None:
    admin = site.admin()
    commit_rules(admin)
    state = etree.fromstring(admin.get(("subtree", f'<nacm xmlns="{NACM}"/>')).xml.encode())
    [nacm] = state.findall(".//nacm:nacm", N)  # running's rules plus the counters, once
    assert nacm.findtext("nacm:denied-operations", namespaces=N) is not None
    assert nacm.xpath("nacm:rule-list/nacm:name/text()", namespaces=N) == [
        "admin", "ops", "everyone"]
    # Back to hvd's default rules (everyone may compare), then compare across the rules.
    admin.edit_config(target="running", config=wrap(
        f'<nacm xmlns="{NACM}" xmlns:nc="{BASE}" nc:operation="delete"/>'))
    history = call(admin, '<get-commit-history xmlns="urn:hvd:system"/>')
    [rules_id] = history.xpath("//h:commit[h:source='commit']/h:id/text()",
                               namespaces={"h": "urn:hvd:system"})
    ask = (f'<compare xmlns="urn:hvd:system"><source>{rules_id}</source>'
           "<target>running</target></compare>")
    seen = call(admin, ask)
    assert "rule-list" in etree.tostring(seen).decode()
    hidden = call(site.rita(), ask)
    assert "nacm" not in etree.tostring(hidden).decode()
