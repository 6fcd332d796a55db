"""Filters and the edit-config engine under arbitrary (well-formed) input: a result or an
RpcError, never another exception; the datastore is unchanged after a failed edit."""

from __future__ import annotations

import contextlib
import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from hvd_netconf.edit import edit_config
from hvd_netconf.edit.engine import _Engine
from hvd_netconf.errors import RpcError
from hvd_netconf.filter import apply_filter, parse_filter
from hvd_netconf.namespaces import BASE, NETWORK, VM
from hvd_netconf.schema import load_schema
from hvd_netconf.schema.validate import validate

NAMES = ["vms", "vm", "name", "cpu", "memory", "description", "networks", "network", "mtu",
         "disk", "nic", "bogus"]
NSS = [VM, NETWORK, BASE, "urn:x"]
VALUES = ["web", "db", "2", "0", "-1", "99999999999", "", "x" * 70, "true", "a b"]
OPS = [None, "merge", "replace", "create", "delete", "remove", "bogus"]


@pytest.fixture(scope="module")
def schema():  # type: ignore[no-untyped-def]
    return load_schema()


def seed() -> etree._Element:
    return etree.fromstring(
        f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>web</name><cpu>2</cpu>'
        f"<memory>1024</memory></vm><vm><name>db</name><cpu>4</cpu></vm></vms>"
        f'<networks xmlns="{NETWORK}"><network><name>lan</name><mtu>9000</mtu></network>'
        f"</networks></config>")


node = st.deferred(lambda: st.tuples(
    st.sampled_from(NSS), st.sampled_from(NAMES), st.sampled_from(OPS),
    st.one_of(st.sampled_from(VALUES), st.lists(node, max_size=3))))


def build(parent: etree._Element, spec: tuple) -> None:  # type: ignore[type-arg]
    ns, name, op, content = spec
    el = etree.SubElement(parent, f"{{{ns}}}{name}")
    if op is not None:
        el.set(f"{{{BASE}}}operation", op)
    if isinstance(content, str):
        el.text = content
    else:
        for child in content:
            build(el, child)


@given(st.lists(node, max_size=3), st.sampled_from(["merge", "replace", "none"]),
       st.sampled_from(["stop-on-error", "continue-on-error", "rollback-on-error"]))
def test_edit_engine(schema, specs, default_op, error_option) -> None:  # type: ignore[no-untyped-def]
    root = seed()
    original = etree.tostring(root, method="c14n")
    config = etree.Element(f"{{{BASE}}}config")
    for spec in specs:
        build(config, spec)
    try:
        res = edit_config(schema, root, config, default_operation=default_op,
                          error_option=error_option)
    except RpcError:
        assert etree.tostring(root, method="c14n") == original
        return
    assert all(isinstance(e, RpcError) for e in res.errors)
    if res.errors and error_option != "continue-on-error":
        assert etree.tostring(root, method="c14n") == original
    res.undo()
    assert etree.tostring(root, method="c14n") == original


@given(st.lists(node, max_size=3))
def test_subtree_filter(schema, specs) -> None:  # type: ignore[no-untyped-def]
    f = etree.Element(f"{{{BASE}}}filter")
    for spec in specs:
        build(f, spec)
    root = seed()
    with contextlib.suppress(RpcError):
        apply_filter(parse_filter(f), root, etree.Element(f"{{{BASE}}}data"), schema)
    assert etree.tostring(root, method="c14n") == etree.tostring(seed(), method="c14n")


XPATH_ATOMS = ["/", "//", "v:vms", "v:vm", "v:name", "*", "[", "]", "=", "'web'", "..", "@x",
               "count(", ")", "|", "n:network", "text()", "1", " and ", "zz:x", "(", ",",
               "position()", "last()", "$x", "::", "child", "ancestor"]


@given(st.lists(st.sampled_from(XPATH_ATOMS), min_size=1, max_size=12))
def test_xpath_filter(schema, atoms) -> None:  # type: ignore[no-untyped-def]
    f = etree.Element(f"{{{BASE}}}filter", nsmap={"v": VM, "n": NETWORK})
    f.set("type", "xpath")
    f.set("select", "".join(atoms))
    root = seed()
    with contextlib.suppress(RpcError):
        apply_filter(parse_filter(f), root, etree.Element(f"{{{BASE}}}data"), schema)
    assert etree.tostring(root, method="c14n") == etree.tostring(seed(), method="c14n")


# ---- the engine's fast path for new entries against its general path -------------------

LEAF_VALUES = {"cpu": ["2", "04", "0", "x"], "memory": ["512", "1"], "description": ["d", ""],
               "size": ["10", "-1"], "network": ["lan", ""], "type": ["uefi", "bogus"],
               "status": ["running"], "name": ["a", "b", "a b", ""]}
VM_KIDS = ["name", "cpu", "memory", "description", "loader", "disk", "nic", "state", "bogus"]
INNER = {"loader": ["type", "uefi-vars", "bogus"], "disk": ["name", "size", "emulation"],
         "nic": ["name", "network", "mac"], "state": ["status"]}
ATTRS = [None, None, None, ("op", "create"), ("op", "merge"), ("op", "replace"),
         ("op", "delete"), ("insert", "first"), ("x", "1")]


def _kid(draw, name: str, depth: int) -> etree._Element:  # type: ignore[no-untyped-def]
    ns = draw(st.sampled_from([VM, VM, VM, VM, NETWORK]))
    el = etree.Element(f"{{{ns}}}{name}")
    attr = draw(st.sampled_from(ATTRS))
    if attr is not None:
        el.set({"op": f"{{{BASE}}}operation", "insert": "{urn:ietf:params:xml:ns:yang:1}insert",
                "x": "x"}[attr[0]], attr[1])
    if name in INNER and depth < 2:
        for k in draw(st.lists(st.sampled_from(INNER[name]), max_size=4)):
            el.append(_kid(draw, k, depth + 1))
    else:
        el.text = draw(st.sampled_from(LEAF_VALUES.get(name, ["1", "v", ""])))
        if draw(st.booleans()) and draw(st.booleans()):
            etree.SubElement(el, f"{{{VM}}}name").text = "inner"
    return el


@st.composite
def vm_entries(draw):  # type: ignore[no-untyped-def]
    vms = etree.Element(f"{{{VM}}}vms")
    for _ in range(draw(st.integers(1, 3))):
        vm = _kid(draw, "vm", 0) if draw(st.booleans()) else etree.Element(f"{{{VM}}}vm")
        vm.text = None
        etree.SubElement(vm, f"{{{VM}}}name").text = draw(st.sampled_from(["web", "new", "n2"]))
        for k in draw(st.lists(st.sampled_from(VM_KIDS), max_size=6)):
            vm.append(_kid(draw, k, 1))
        vms.append(vm)
    return vms


def _outcome(schema, vms, default_op, error_option):  # type: ignore[no-untyped-def]
    root = seed()
    config = etree.Element(f"{{{BASE}}}config")
    config.append(copy.deepcopy(vms))
    try:
        res = edit_config(schema, root, config, default_operation=default_op,
                          error_option=error_option)
    except RpcError as exc:
        return ("raised", exc.tag, exc.path, exc.message)
    errors = [(e.tag, e.error_type, e.path, e.message, e.app_tag, e.info) for e in res.errors]
    return (etree.tostring(root), errors, sorted(map(str, res.touched)), sorted(res.before))


@given(vm_entries(), st.sampled_from(["merge", "replace", "none"]),
       st.sampled_from(["stop-on-error", "continue-on-error", "rollback-on-error"]))
def test_fast_path_is_the_general_path(schema, vms, default_op, error_option) -> None:  # type: ignore[no-untyped-def]
    """New entries built by the fast path (_new_entry, _fill) are byte for byte what the
    general path builds, with the same errors, paths and journal."""
    fast = _outcome(schema, vms, default_op, error_option)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_Engine, "_new_entry", lambda *a: False)
        mp.setattr(_Engine, "_fill", lambda *a: False)
        general = _outcome(schema, vms, default_op, error_option)
    assert fast == general


@given(vm_entries(), st.sampled_from(["merge", "replace", "none"]),
       st.sampled_from(["stop-on-error", "continue-on-error", "rollback-on-error"]))
def test_checked_entries_pass_syntax_validation(schema, vms, default_op, error_option) -> None:  # type: ignore[no-untyped-def]
    """Syntax validation over the smaller scope (edit's syntax_scope) reports exactly what it
    reports over the whole scope: every entry left out (`checked`) is valid at that level."""
    root = seed()
    config = etree.Element(f"{{{BASE}}}config")
    config.append(copy.deepcopy(vms))
    res = edit_config(schema, root, config, default_operation=default_op,
                      error_option=error_option)

    def errors(scope):  # type: ignore[no-untyped-def]
        return [(e.tag, e.path, e.message, e.app_tag, e.info)
                for e in validate(schema, root, scope, "syntax")]

    if res.scope is None:
        assert res.syntax_scope is None
        return
    assert res.checked <= res.touched
    for key in res.checked:
        assert errors([key]) == []
    assert errors(sorted(res.syntax_scope)) == errors(sorted(res.scope))  # type: ignore[arg-type]
