"""Validator behaviour beyond the corpus: every error returned, levels, scope, paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from hvd_netconf import namespaces as ns
from hvd_netconf.errors import plain_path
from hvd_netconf.schema import instance_path, load_schema
from hvd_netconf.schema.validate import validate

YANG = Path(__file__).resolve().parents[2] / "yang"


def cfg(body: str) -> etree._Element:
    return etree.fromstring(f'<config xmlns="{ns.BASE}">{body}</config>')


NETS = ('<networks xmlns="urn:hvd:network"><network><name>lan</name></network>'
        "<network><name>dmz</name></network></networks>")


def vms(*names_nets: tuple[str, str]) -> str:
    body = "".join(f"<vm><name>{n}</name><nic><name>n0</name><network>{net}</network></nic></vm>"
                   for n, net in names_nets)
    return f'<vms xmlns="urn:hvd:vm">{body}</vms>'


def index(root: etree._Element) -> dict[tuple[str, str], etree._Element]:
    out = {}
    for top, kind in ((ns.qn(ns.VM, "vms"), "vm"), (ns.qn(ns.NETWORK, "networks"), "network")):
        holder = root.find(top)
        for e in holder if holder is not None else ():
            out[(kind, e.findtext(f"{{{etree.QName(e).namespace}}}name"))] = e
    return out


def test_every_violation_is_returned() -> None:
    root = cfg(NETS + '<vms xmlns="urn:hvd:vm"><vm><name>a</name><cpu>0</cpu><memory>1</memory>'
               "<nic><name>n</name><network>nope</network></nic></vm></vms>")
    errs = validate(load_schema(YANG), root)
    assert [(e.tag, plain_path(e.path)) for e in errs] == [
        ("invalid-value", "/vms/vm[name='a']/cpu"),
        ("invalid-value", "/vms/vm[name='a']/memory"),
        ("data-missing", "/vms/vm[name='a']/nic[name='n']/network"),
    ]
    assert errs[2].path_namespaces() == {"hvd-vm": ns.VM}


def test_syntax_level_skips_commit_time_checks() -> None:
    root = cfg('<vms xmlns="urn:hvd:vm"><vm><name>a</name><cpu>99</cpu>'
               "<boot-device>x</boot-device><disk><name>d</name></disk></vm></vms>")
    schema = load_schema(YANG)
    assert [e.tag for e in validate(schema, root, level="syntax")] == ["invalid-value"]
    assert sorted(e.tag for e in validate(schema, root)) == [
        "data-missing", "invalid-value", "operation-failed"]  # the disk's size: a must
    with pytest.raises(ValueError):
        validate(schema, root, level="quick")


def test_root_of_bare_top_level_nodes_is_accepted() -> None:
    holder = etree.fromstring(f"<data xmlns='{ns.BASE}'>{NETS}{vms(('a', 'lan'))}</data>")
    assert validate(load_schema(YANG), holder) == []


def test_scope_checks_only_changed_entries() -> None:
    schema = load_schema(YANG)
    root = cfg(NETS + vms(("good", "lan"), ("bad", "nope"), ("other", "nope")))
    assert [e.message for e in validate(schema, root)] == [
        "network nope is used by bad/n0, other/n0 but is not in the configuration"]
    for lookup in (index(root).get, None):
        errs = validate(schema, root, scope=[("vm", "bad")], lookup=lookup)
        assert [plain_path(e.path) for e in errs] == ["/vms/vm[name='bad']/nic[name='n0']/network"]
        assert validate(schema, root, scope=[("vm", "good")], lookup=lookup) == []


def test_scope_catches_deleted_network_still_referenced() -> None:
    schema = load_schema(YANG)
    root = cfg(NETS + vms(("a", "lan"), ("b", "dmz"), ("c", "dmz")))
    nets = root.find(ns.qn(ns.NETWORK, "networks"))
    nets.remove(nets[1])  # delete dmz
    errs = validate(schema, root, scope=[("network", "dmz")], lookup=index(root).get)
    # One error in the operator's words, naming every user, at the first user's path.
    message = "network dmz is used by b/n0, c/n0 but is not in the configuration"
    assert [(e.tag, e.app_tag, plain_path(e.path), e.message) for e in errs] == [
        ("data-missing", "instance-required", "/vms/vm[name='b']/nic[name='n0']/network",
         message)]
    # The users in scope too, or the whole tree validated: still that one error.
    both = validate(schema, root, scope=[("network", "dmz"), ("vm", "b"), ("vm", "c")],
                    lookup=index(root).get)
    assert [e.message for e in both] == [message]
    assert [e.message for e in validate(schema, root)] == [message]
    # renamed lan -> lan2: the old key is gone (scope holds both), the new one is fine
    nets[0].find(ns.qn(ns.NETWORK, "name")).text = "lan2"
    errs = validate(schema, root, scope=[("network", "lan"), ("network", "lan2")],
                    lookup=index(root).get)
    assert [plain_path(e.path) for e in errs] == ["/vms/vm[name='a']/nic[name='n0']/network"]


def test_scoped_cost_does_not_grow_with_datastore() -> None:
    import time

    schema = load_schema(YANG)

    def timed(n: int) -> float:
        root = cfg(NETS + vms(*[(f"v{i}", "lan") for i in range(n)]))
        idx = index(root).get
        best = 1.0
        for _ in range(5):
            t = time.perf_counter()
            assert validate(schema, root, scope=[("vm", "v1")], lookup=idx) == []
            best = min(best, time.perf_counter() - t)
        return best

    small, large = timed(10), timed(5000)
    assert large < small * 5 + 0.002


def test_unknown_namespace_info_and_instance_path_quoting() -> None:
    schema = load_schema(YANG)
    root = cfg(f'{NETS}<vms xmlns="urn:hvd:vm"><vm><name>it\'s</name>'
               '<x xmlns="urn:other"/></vm></vms><y xmlns="urn:nowhere"/>')
    errs = validate(schema, root)
    assert [(e.tag, e.info) for e in errs] == [
        ("invalid-value", []),
        ("unknown-namespace", [("bad-element", "x"), ("bad-namespace", "urn:other")]),
        ("unknown-namespace", [("bad-element", "y"), ("bad-namespace", "urn:nowhere")]),
    ]
    vm = root.find(ns.qn(ns.VM, "vms"))[0]
    assert instance_path(schema, vm) == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name=\"it's\"]"


def test_a_default_after_multiply_is_in_the_accessible_tree() -> None:
    """`sockets * cores * threads`: every operand after `*` is a path whose default is put in
    place for the evaluation (RFC 7950 §6.4.1), not only the first."""
    from hvd_netconf.schema.xpath import YangXPath
    xp = YangXPath("a * b * ../c", "urn:x", "x", {})
    assert xp.rel_steps == [[("urn:x", "a")], [("urn:x", "b")], [("", ".."), ("urn:x", "c")]]
    assert YangXPath("*/a", "urn:x", "x", {}).lxml_text == "*/x:a"  # a wildcard, not the root
