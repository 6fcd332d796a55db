"""The pure edit engine: every operation, default-operation, error-option and error."""

from __future__ import annotations

import pytest
from lxml import etree

from hvd_netconf.edit import ALL, edit_config
from hvd_netconf.namespaces import BASE, VM

T = "urn:hvd:test"


def vm_root(*names: str, extra: str = "") -> etree._Element:
    vms = "".join(f"<vm><name>{n}</name><cpu>2</cpu>{extra}</vm>" for n in names)
    return etree.fromstring(f'<config xmlns="{BASE}"><vms xmlns="{VM}">{vms}</vms></config>')


def dump(root: etree._Element) -> bytes:
    return etree.tostring(root, method="c14n")


def vm(root: etree._Element, name: str) -> etree._Element | None:
    return root.find(f"{{{VM}}}vms/{{{VM}}}vm[{{{VM}}}name='{name}']")


def text(root: etree._Element, path: str) -> str | None:
    return root.findtext(path, namespaces={"v": VM, "t": T})


def one_error(res):
    assert len(res.errors) == 1, res.errors
    return res.errors[0]


@pytest.fixture
def edit(fake_schema, mkcfg):
    def run(root, body, **kw):
        return edit_config(fake_schema, root, mkcfg(body), **kw)
    return run


def test_merge_creates_and_changes(edit):
    root = vm_root("a")
    res = edit(root, "<v:vms><v:vm><v:name>a</v:name><v:cpu>04</v:cpu></v:vm>"
                     "<v:vm><v:name>b</v:name><v:memory>1024</v:memory></v:vm></v:vms>")
    assert not res.errors
    assert text(root, "v:vms/v:vm[v:name='a']/v:cpu") == "4"  # stored canonical
    assert text(root, "v:vms/v:vm[v:name='b']/v:memory") == "1024"
    assert res.touched == {("vm", "a"), ("vm", "b")}
    assert res.before[("vm", "b")] is None
    assert res.before[("vm", "a")].findtext(f"{{{VM}}}cpu") == "2"
    assert res.after(("vm", "a")) is vm(root, "a")


def test_merge_same_value_touches_nothing(edit):
    root = vm_root("a")
    res = edit(root, "<v:vms><v:vm><v:name>a</v:name><v:cpu>2</v:cpu></v:vm></v:vms>")
    assert not res.errors and res.touched == set() and not res.changed


def test_new_leaf_placed_in_schema_order(edit):
    root = vm_root("a")
    edit(root, "<v:vms><v:vm><v:name>a</v:name><v:description>x</v:description></v:vm></v:vms>")
    assert [etree.QName(e).localname for e in vm(root, "a")] == ["name", "description", "cpu"]


def test_create_on_existing_is_data_exists(edit):
    root = vm_root("a")
    before = dump(root)
    res = edit(root, '<v:vms><v:vm nc:operation="create"><v:name>a</v:name></v:vm></v:vms>')
    err = one_error(res)
    assert err.tag == "data-exists"
    assert err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']"
    assert dump(root) == before


def test_create_leaf_on_existing_is_data_exists(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm><v:name>a</v:name><v:cpu nc:operation="create">3</v:cpu>'
                     "</v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "data-exists"
    assert err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:cpu"


def test_create_new_entry(edit):
    root = vm_root()
    res = edit(root, '<v:vms><v:vm nc:operation="create"><v:name>n</v:name><v:cpu>3</v:cpu>'
                     "</v:vm></v:vms>")
    assert not res.errors and text(root, "v:vms/v:vm/v:cpu") == "3"


def test_delete_missing_is_data_missing_and_remove_is_ok(edit):
    root = vm_root("a")
    before = dump(root)
    res = edit(root, '<v:vms><v:vm nc:operation="delete"><v:name>zz</v:name></v:vm></v:vms>')
    assert one_error(res).tag == "data-missing"
    assert one_error(res).error_type == "application"
    res = edit(root, '<v:vms><v:vm nc:operation="remove"><v:name>zz</v:name></v:vm></v:vms>')
    assert not res.errors and dump(root) == before and not res.changed


def test_delete_entry_leaf_and_container(edit):
    root = vm_root("a", "b", extra="<loader><type>uefi</type></loader>")
    res = edit(root, '<v:vms><v:vm nc:operation="delete"><v:name>a</v:name></v:vm>'
                     '<v:vm><v:name>b</v:name><v:cpu nc:operation="delete"/>'
                     '<v:loader nc:operation="remove"/></v:vm></v:vms>')
    assert not res.errors
    assert vm(root, "a") is None
    assert [etree.QName(e).localname for e in vm(root, "b")] == ["name"]
    assert res.after(("vm", "a")) is None
    assert res.touched == {("vm", "a"), ("vm", "b")}


def test_delete_missing_leaf_data_missing(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm><v:name>a</v:name><v:memory nc:operation="delete"/>'
                     "</v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "data-missing"
    assert err.path.endswith("/hvd-vm:memory")


def test_deleting_last_leaf_prunes_container(edit):
    root = vm_root("a", extra="<loader><type>uefi</type></loader>")
    edit(root, '<v:vms><v:vm><v:name>a</v:name><v:loader><v:type nc:operation="delete"/>'
               "</v:loader></v:vm></v:vms>")
    assert vm(root, "a").find(f"{{{VM}}}loader") is None


def test_replace_entry_drops_unlisted_children(edit):
    root = vm_root("a", extra="<memory>1024</memory>")
    res = edit(root, '<v:vms><v:vm nc:operation="replace"><v:name>a</v:name><v:cpu>8</v:cpu>'
                     "</v:vm></v:vms>")
    assert not res.errors
    assert text(root, "v:vms/v:vm/v:cpu") == "8" and text(root, "v:vms/v:vm/v:memory") is None
    assert res.before[("vm", "a")].findtext(f"{{{VM}}}memory") == "1024"


def test_replace_nested_container(edit):
    root = vm_root("a", extra="<loader><type>grub</type><uefi-vars>true</uefi-vars></loader>")
    edit(root, '<v:vms><v:vm><v:name>a</v:name><v:loader nc:operation="replace">'
               "<v:type>uefi</v:type></v:loader></v:vm></v:vms>")
    assert text(root, "v:vms/v:vm/v:loader/v:type") == "uefi"
    assert text(root, "v:vms/v:vm/v:loader/v:uefi-vars") is None


def test_replace_top_container_scope_all(edit):
    root = vm_root("a", "b")
    res = edit(root, '<v:vms nc:operation="replace"><v:vm><v:name>c</v:name></v:vm></v:vms>')
    assert not res.errors and ALL in res.touched and res.scope is None
    assert [e.findtext(f"{{{VM}}}name") for e in root.find(f"{{{VM}}}vms")] == ["c"]


def test_delete_top_container(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms nc:operation="delete"/>')
    assert not res.errors and len(root) == 0 and res.scope is None
    res = edit(root, '<v:vms nc:operation="delete"/>')
    assert one_error(res).tag == "data-missing"


def test_operation_inherited_until_overridden(edit):
    root = vm_root("a", extra="<memory>1024</memory>")
    res = edit(root, '<v:vms nc:operation="merge"><v:vm nc:operation="replace"><v:name>a</v:name>'
                     '<v:cpu>5</v:cpu><v:loader><v:type>uefi</v:type></v:loader></v:vm></v:vms>')
    assert not res.errors and text(root, "v:vms/v:vm/v:memory") is None
    res = edit(root, '<v:vms nc:operation="create"><v:vm><v:name>a</v:name></v:vm></v:vms>')
    assert one_error(res).tag == "data-exists"  # create inherited by the vms container


def test_inherited_delete_on_children(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm nc:operation="delete"><v:name>a</v:name></v:vm></v:vms>')
    assert not res.errors and vm(root, "a") is None


def test_default_operation_replace_replaces_whole_datastore(edit):
    root = vm_root("a")
    root.append(etree.fromstring(f'<things xmlns="{T}"><motd>hi</motd></things>'))
    res = edit(root, "<v:vms><v:vm><v:name>z</v:name></v:vm></v:vms>",
               default_operation="replace")
    assert not res.errors and res.scope is None
    assert root.find(f"{{{T}}}things") is None
    assert [e.findtext(f"{{{VM}}}name") for e in root.find(f"{{{VM}}}vms")] == ["z"]
    res.undo()
    assert root.find(f"{{{T}}}things") is not None and vm(root, "a") is not None


def test_default_operation_none_navigates(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm><v:name>a</v:name><v:cpu>9</v:cpu>'
                     '<v:memory nc:operation="merge">128</v:memory></v:vm></v:vms>',
               default_operation="none")
    assert not res.errors
    assert text(root, "v:vms/v:vm/v:cpu") == "2"  # no operation: navigation only
    assert text(root, "v:vms/v:vm/v:memory") == "128"


def test_default_operation_none_missing_node_is_data_missing(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm><v:name>b</v:name><v:cpu nc:operation="merge">3</v:cpu>'
                     "</v:vm></v:vms>", default_operation="none")
    err = one_error(res)
    assert err.tag == "data-missing" and err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='b']"


def test_missing_key_is_missing_element(edit):
    res = edit(vm_root(), "<v:vms><v:vm><v:cpu>2</v:cpu></v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "missing-element" and ("bad-element", "name") in err.info
    assert err.path == "/hvd-vm:vms/hvd-vm:vm"


def test_two_keys_must_all_match(edit):
    root = etree.fromstring(f'<config xmlns="{BASE}"/>')
    res = edit(root, "<t:things><t:thing><t:id>x</t:id><t:part><t:a>1</t:a><t:b>2</t:b>"
                     "<t:v>one</t:v></t:part><t:part><t:a>1</t:a><t:b>3</t:b></t:part>"
                     "</t:thing></t:things>")
    assert not res.errors
    edit(root, "<t:things><t:thing><t:id>x</t:id><t:part><t:a>1</t:a><t:b>2</t:b>"
               "<t:v>two</t:v></t:part></t:thing></t:things>")
    parts = root.findall(f".//{{{T}}}part")
    assert [p.findtext(f"{{{T}}}v") for p in parts] == ["two", None]
    res = edit(root, "<t:things><t:thing><t:id>x</t:id><t:part><t:a>1</t:a></t:part>"
                     "</t:thing></t:things>")
    assert one_error(res).tag == "missing-element"


def test_key_leaf_cannot_be_deleted(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm><v:name nc:operation="delete">a</v:name></v:vm></v:vms>')
    err = one_error(res)
    assert err.tag == "bad-attribute" and vm(root, "a") is not None


def test_bad_operation_attribute(edit):
    res = edit(vm_root("a"), '<v:vms><v:vm nc:operation="zap"><v:name>a</v:name></v:vm></v:vms>')
    err = one_error(res)
    assert err.tag == "bad-attribute" and ("bad-attribute", "operation") in err.info


def test_unknown_element_and_namespace(edit):
    res = edit(vm_root("a"), "<v:vms><v:vm><v:name>a</v:name><v:gpu>1</v:gpu></v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "unknown-element"
    assert err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:gpu"
    res = edit(vm_root("a"), '<x:vms xmlns:x="urn:nope"/>')
    err = one_error(res)
    assert err.tag == "unknown-namespace" and ("bad-namespace", "urn:nope") in err.info


def test_config_false_cannot_be_edited(edit):
    res = edit(vm_root("a"), "<v:vms><v:vm><v:name>a</v:name><v:state><v:status>running"
                             "</v:status></v:state></v:vm></v:vms>")
    assert one_error(res).tag == "unknown-element"


def test_invalid_value_has_path_and_changes_nothing(edit):
    root = vm_root("a")
    before = dump(root)
    res = edit(root, "<v:vms><v:vm><v:name>b</v:name></v:vm><v:vm><v:name>a</v:name>"
                     "<v:cpu>99</v:cpu></v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "invalid-value" and err.app_tag == "range"
    assert err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:cpu"
    assert dump(root) == before and res.touched == set()


def test_invalid_key_value(edit):
    res = edit(vm_root(), "<v:vms><v:vm><v:name>a b</v:name></v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "invalid-value" and err.path.endswith("/hvd-vm:vm/hvd-vm:name")


def test_leaf_with_children_is_bad_element(edit):
    res = edit(vm_root("a"), "<v:vms><v:vm><v:name>a</v:name><v:cpu><v:x/></v:cpu></v:vm>"
                             "</v:vms>")
    assert one_error(res).tag == "bad-element"


@pytest.mark.parametrize("option", ["stop-on-error", "rollback-on-error"])
def test_stop_and_rollback_leave_target_exactly(edit, option):
    root = vm_root("a", "b", "c", "e")
    before = dump(root)
    res = edit(root, '<v:vms><v:vm nc:operation="delete"><v:name>a</v:name></v:vm>'
                     '<v:vm nc:operation="replace"><v:name>b</v:name></v:vm>'
                     "<v:vm><v:name>e</v:name><v:cpu>7</v:cpu></v:vm>"
                     "<v:vm><v:name>new</v:name></v:vm>"
                     '<v:vm nc:operation="create"><v:name>c</v:name></v:vm>'
                     "<v:vm><v:name>d</v:name><v:cpu>0</v:cpu></v:vm></v:vms>",
               error_option=option)
    assert [e.tag for e in res.errors] == ["data-exists"]
    assert dump(root) == before


def test_continue_on_error_reports_all_and_keeps_the_rest(edit):
    root = vm_root("a")
    res = edit(root, '<v:vms><v:vm nc:operation="create"><v:name>a</v:name></v:vm>'
                     "<v:vm><v:name>b</v:name><v:cpu>0</v:cpu><v:memory>128</v:memory></v:vm>"
                     '<v:vm nc:operation="delete"><v:name>zz</v:name></v:vm>'
                     "<v:vm><v:name>c</v:name></v:vm></v:vms>",
               error_option="continue-on-error")
    assert [e.tag for e in res.errors] == ["data-exists", "invalid-value", "data-missing"]
    assert all(e.path for e in res.errors)
    assert vm(root, "c") is not None
    assert text(root, "v:vms/v:vm[v:name='b']/v:memory") == "128"


def test_undo_after_success_restores(edit):
    root = vm_root("a", "b", "c")
    before = dump(root)
    res = edit(root, '<v:vms><v:vm nc:operation="delete"><v:name>b</v:name></v:vm>'
                     "<v:vm><v:name>a</v:name><v:cpu>9</v:cpu></v:vm>"
                     "<v:vm><v:name>c</v:name><v:cpu>3</v:cpu></v:vm>"
                     "<v:vm><v:name>z</v:name></v:vm></v:vms>")
    assert not res.errors
    assert res.touched == {("vm", "a"), ("vm", "b"), ("vm", "c"), ("vm", "z")}
    assert res.before[("vm", "b")].findtext(f"{{{VM}}}cpu") == "2"
    res.undo()
    assert dump(root) == before


def test_lookup_is_used(fake_schema, mkcfg):
    root = vm_root("a", "b")
    asked = []

    def lookup(key):
        asked.append(key)
        return vm(root, key[1])

    res = edit_config(fake_schema, root, mkcfg(
        '<v:vms><v:vm nc:operation="delete"><v:name>a</v:name></v:vm>'
        '<v:vm nc:operation="merge"><v:name>b</v:name><v:cpu>5</v:cpu></v:vm></v:vms>'),
        lookup=lookup)
    assert not res.errors and asked == [("vm", "a"), ("vm", "b")]
    assert vm(root, "a") is None and text(root, "v:vms/v:vm[v:name='b']/v:cpu") == "5"


def _disks(root):
    return [d.findtext(f"{{{VM}}}name") for d in root.iter(f"{{{VM}}}disk")]


def _disk_body(name, attrs=""):
    return f"<v:disk {attrs}><v:name>{name}</v:name><v:size>1G</v:size></v:disk>"


def test_ordered_by_user_insert(edit):
    root = vm_root("a")
    w = "<v:vms><v:vm><v:name>a</v:name>{}</v:vm></v:vms>"
    assert not edit(root, w.format(_disk_body("d1") + _disk_body("d2"))).errors
    edit(root, w.format(_disk_body("d0", 'y:insert="first"')))
    assert _disks(root) == ["d0", "d1", "d2"]
    edit(root, w.format(_disk_body("dx", """y:insert="after" y:key="[v:name='d0']" """)))
    assert _disks(root) == ["d0", "dx", "d1", "d2"]
    edit(root, w.format(_disk_body("dy", """y:insert="before" y:key="[v:name='d2']" """)))
    assert _disks(root) == ["d0", "dx", "d1", "dy", "d2"]
    edit(root, w.format(_disk_body("d0", 'y:insert="last"')))  # moves an existing entry
    assert _disks(root) == ["dx", "d1", "dy", "d2", "d0"]
    assert text(root, "v:vms/v:vm/v:cpu") == "2"


def test_insert_missing_reference_is_missing_instance(edit):
    root = vm_root("a")
    before = dump(root)
    res = edit(root, "<v:vms><v:vm><v:name>a</v:name>"
               + _disk_body("d1", """y:insert="after" y:key="[v:name='nope']" """)
               + "</v:vm></v:vms>")
    err = one_error(res)
    assert err.tag == "bad-attribute" and err.app_tag == "missing-instance"
    assert err.path == "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:disk[hvd-vm:name='d1']"
    assert dump(root) == before


def test_insert_before_without_key_and_on_system_ordered(edit):
    root = vm_root("a")
    res = edit(root, "<v:vms><v:vm><v:name>a</v:name>"
               + _disk_body("d1", 'y:insert="before"') + "</v:vm></v:vms>")
    assert one_error(res).tag == "missing-attribute"
    res = edit(root, '<v:vms><v:vm y:insert="first"><v:name>a</v:name></v:vm></v:vms>')
    assert one_error(res).tag == "bad-attribute"


def test_leaf_lists(edit):
    root = etree.fromstring(f'<config xmlns="{BASE}"/>')
    w = "<t:things><t:thing><t:id>x</t:id>{}</t:thing></t:things>"
    assert not edit(root, w.format("<t:tag>b</t:tag><t:tag>c</t:tag><t:label>07</t:label>")).errors
    tags = lambda: [e.text for e in root.iter(f"{{{T}}}tag")]  # noqa: E731
    edit(root, w.format('<t:tag y:insert="first">a</t:tag>'))
    assert tags() == ["a", "b", "c"]
    edit(root, w.format('<t:tag y:insert="after" y:value="a">z</t:tag>'))
    assert tags() == ["a", "z", "b", "c"]
    assert [e.text for e in root.iter(f"{{{T}}}label")] == ["7"]
    res = edit(root, w.format('<t:tag nc:operation="create">b</t:tag>'))
    err = one_error(res)
    assert err.tag == "data-exists"
    assert err.path == "/t:things/t:thing[t:id='x']/t:tag[.='b']".replace("t:", "ns:")
    res = edit(root, w.format('<t:tag nc:operation="delete">q</t:tag>'))
    assert one_error(res).tag == "data-missing"
    edit(root, w.format('<t:tag nc:operation="delete">z</t:tag><t:tag nc:operation="remove">q'
                        "</t:tag>"))
    assert tags() == ["a", "b", "c"]
    res = edit(root, w.format('<t:tag y:insert="before" y:value="nope">k</t:tag>'))
    assert one_error(res).app_tag == "missing-instance"


def test_top_level_leaf_outside_entries_is_journaled(edit):
    root = etree.fromstring(f'<config xmlns="{BASE}"/>')
    res = edit(root, "<t:things><t:motd>hello</t:motd></t:things>")
    assert not res.errors and res.scope is None
    res = edit(root, "<t:things><t:motd>bye</t:motd><t:motd2/></t:things>")
    assert one_error(res).tag == "unknown-element"
    assert root.findtext(f"{{{T}}}things/{{{T}}}motd") == "hello"


def test_bad_options(fake_schema, mkcfg):
    from hvd_netconf.errors import InvalidValue
    with pytest.raises(InvalidValue):
        edit_config(fake_schema, vm_root(), mkcfg(""), default_operation="delete")
    with pytest.raises(InvalidValue):
        edit_config(fake_schema, vm_root(), mkcfg(""), error_option="keep-calm")


@pytest.mark.parametrize("body", [
    "<v:disk><v:name>d</v:name><v:size>1G</v:size></v:disk>",
    "<v:description>x</v:description>",
    "<v:loader><v:type>grub</v:type></v:loader>",
])
def test_undo_of_nested_creation_in_existing_entry(edit, body):
    root = vm_root("a")
    before = dump(root)
    res = edit(root, f"<v:vms><v:vm><v:name>a</v:name>{body}</v:vm></v:vms>")
    assert not res.errors and dump(root) != before
    res.undo()
    assert dump(root) == before


@pytest.mark.parametrize("key,tag", [
    (("vm", "web"), f"{{{VM}}}vm"), (("network", "lan"), None), (("nacm", "nacm"), None),
    (("vm", "it's"), "vm"), (("vm", "web"), "{urn:x}vm"), (("nacm", "nacm"), "{urn:x}nacm")])
def test_entry_target_is_the_instance_path(key, tag) -> None:  # type: ignore[no-untyped-def]
    """The cached path head gives what the path helpers build for the entry's namespace."""
    from hvd_netconf.edit import paths
    from hvd_netconf.edit.changes import entry_target
    from hvd_netconf.keys import kind_of

    k = kind_of(key)
    el = etree.Element(tag) if tag is not None else None
    ns = (etree.QName(el).namespace if el is not None else None) or k.ns
    want = paths.step(ns, k.container)
    if k.entry is not None:
        want += paths.entry_step(ns, k.entry, [("name", key[1])])
    assert entry_target(key, el) == want


def _names(root: etree._Element) -> list[str]:
    return [e.findtext(f"{{{VM}}}name") for e in root.iter(f"{{{VM}}}vm")]


def test_new_entries_of_a_system_ordered_list_go_in_name_order(edit):
    """The order the loader reads them back in after a restart (store/order.py)."""
    root = vm_root("b", "d")
    res = edit(root, "<v:vms><v:vm><v:name>c</v:name></v:vm><v:vm><v:name>e</v:name></v:vm>"
                     "<v:vm><v:name>a</v:name></v:vm>"  # fast path, before everything
                     "<v:vm nc:operation='delete'><v:name>b</v:name></v:vm>"
                     # a key with an attribute: the general path makes this one
                     "<v:vm><v:name nc:operation='merge'>ba</v:name></v:vm>"
                     "<v:vm nc:operation='replace'><v:name>d</v:name></v:vm>"
                     "<v:vm><v:name>bb</v:name></v:vm></v:vms>")  # after the general path's
    assert not res.errors
    assert _names(root) == ["a", "ba", "bb", "c", "d", "e"]
    assert res.after(("vm", "d")) is vm(root, "d")
    before = dump(vm_root("b", "d"))
    res.undo()
    assert dump(root) == before


def test_a_failed_edit_leaves_the_order_as_it_was(edit):
    root = vm_root("b", "d")
    before = dump(root)
    res = edit(root, "<v:vms><v:vm><v:name>c</v:name></v:vm><v:vm><v:name>a</v:name></v:vm>"
                     "<v:vm nc:operation='create'><v:name>d</v:name></v:vm></v:vms>")
    assert one_error(res).tag == "data-exists"
    assert dump(root) == before
