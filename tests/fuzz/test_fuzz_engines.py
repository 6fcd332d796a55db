"""Filters and the edit-config engine under arbitrary (well-formed) input: a result or an
RpcError, never another exception; the datastore is unchanged after a failed edit."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from hvd_netconf.edit import edit_config
from hvd_netconf.errors import RpcError
from hvd_netconf.filter import apply_filter, parse_filter
from hvd_netconf.namespaces import BASE, NETWORK, VM
from hvd_netconf.schema import load_schema

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
