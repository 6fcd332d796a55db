"""RFC 7951 JSON <-> XML: a round trip over every data node of every module in yang/, and the
JSON shape of each built-in type the modules use."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from hvd_netconf.errors import InvalidValue, MalformedMessage, UnknownElement
from hvd_netconf.restconf.jsonenc import JsonCodec
from hvd_netconf.schema import load_schema
from hvd_netconf.schema.nodes import SchemaNode

DATASTORES = "urn:ietf:params:xml:ns:yang:ietf-datastores"
# Values tried in order until the leaf's own type accepts one: the real type checks decide.
CANDIDATES = ("1", "1500", "1024", "65535", "web1", "true", "10G", "52:54:00:12:34:56",
              "/tmp/x.iso", "2026-01-01T00:00:00Z", "550e8400-e29b-41d4-a716-446655440000",
              "br0", "a", "*", "read", "urn:x:y", "2019-01-04", "-x", "/dev/da3",
              "10.0.0.1/24", "10.0.0.5", "ssh-ed25519 AAAAC3Nz k", "$6$salt$hash", "3/0/0",
              "fe80::1", "00:11:22:33:44:55", "ds:running", "iqn.2026-01.org.example:vm1")


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def sample(node: SchemaNode, parent: etree._Element) -> None:
    yt = node.type
    assert yt is not None
    if yt.base == "identityref":  # the prefix the codec binds, so c14n compares equal
        el = etree.SubElement(parent, node.tag, nsmap={"id": DATASTORES})
        el.text = "id:running"
        return
    el = etree.SubElement(parent, node.tag)
    if yt.base == "empty":
        return
    if yt.base == "enumeration":
        el.text = next(iter(yt.enums))
        return
    if yt.base == "bits":
        el.text = next(iter(yt.bits))
        return
    for text in CANDIDATES:
        try:
            el.text = node.check_value(text)
            return
        except InvalidValue:
            continue
    raise AssertionError(f"no sample value for {node!r} of {yt!r}")


def fill(node: SchemaNode, el: etree._Element) -> None:
    for child in node.children:
        if child.kind in ("leaf", "leaf-list"):
            sample(child, el)
        elif child.kind == "anydata":  # holds model data, e.g. a compare's old value
            vms = etree.SubElement(etree.SubElement(el, child.tag), "{urn:hvd:vm}vms")
            etree.SubElement(etree.SubElement(vms, "{urn:hvd:vm}vm"), "{urn:hvd:vm}name").text = "w"
        else:
            fill(child, etree.SubElement(el, child.tag))


def roundtrip(codec: JsonCodec, elements: list[etree._Element], parent: SchemaNode | None,
              roots: dict[str, SchemaNode] | None = None) -> list[etree._Element]:
    text = json.dumps(codec.to_json(elements, parent, None, roots))
    holder = etree.Element("holder")
    codec.from_json(json.loads(text), parent, holder, roots)
    return list(holder)


def c14n(el: etree._Element) -> tuple:
    """Names, texts and order; namespace prefixes (ns0, ns1...) are the serialiser's."""
    return (el.tag, el.text or "", [c14n(c) for c in el])


def test_every_data_node_round_trips(schema) -> None:
    codec = JsonCodec(schema)
    bases: set[str] = set()
    for top in schema.tops:
        el = etree.Element(top.tag)
        fill(top, el)
        back = roundtrip(codec, [el], None)
        assert [c14n(b) for b in back] == [c14n(el)], top
        bases |= {n.type.base for n in top.walk() if n.type is not None}
    for tag, rpc in schema.rpcs.items():
        for node in (rpc, schema.outputs[tag]):
            el = etree.Element(tag)
            fill(node, el)
            children = list(el)
            back = roundtrip(codec, children, node)
            assert [c14n(b) for b in back] == [c14n(c) for c in children], tag
    # every built-in type the modules use was in the documents above
    assert {"string", "uint8", "uint16", "uint32", "uint64", "int32", "boolean",
            "enumeration", "leafref", "union", "identityref"} <= bases


def test_json_shapes_of_types(schema) -> None:
    codec = JsonCodec(schema)
    vm = etree.fromstring(
        '<vms xmlns="urn:hvd:vm"><vm><name>w</name><cpu>2</cpu><memory>512</memory>'
        '<utc-clock>true</utc-clock><state><uptime>18446744073709551615</uptime></state>'
        '</vm></vms>')
    assert codec.to_json([vm], None) == {"hvd-vm:vms": {"vm": [{
        "name": "w", "cpu": 2, "memory": 512, "utc-clock": True,
        "state": {"uptime": "18446744073709551615"}}]}}
    lib = schema.top("urn:ietf:params:xml:ns:yang:ietf-yang-library", "yang-library")
    ds = lib.by_tag["{urn:ietf:params:xml:ns:yang:ietf-yang-library}datastore"]
    name = ds.by_tag["{urn:ietf:params:xml:ns:yang:ietf-yang-library}name"]
    el = etree.Element(name.tag, nsmap={"x": DATASTORES})
    el.text = "x:candidate"
    assert codec.leaf_to_json(el.text, name.type, el) == "ietf-datastores:candidate"


def test_json_input_is_held_to_the_types(schema) -> None:
    codec = JsonCodec(schema, max_depth=8)
    holder = etree.Element("h")
    bad = [
        ({"hvd-vm:vms": {"vm": [{"name": "w", "memory": "512"}]}}, "JSON number"),
        ({"hvd-vm:vms": {"vm": [{"name": "w", "utc-clock": "true"}]}}, "boolean"),
        ({"hvd-vm:vms": {"vm": {"name": "w"}}}, "JSON array"),
        ({"vms": {}}, "module"),
        ({"hvd-vm:vms": {"vm": [{"name": "w", "nothing": 1}]}}, "not a node"),
    ]
    for doc, words in bad:
        with pytest.raises((InvalidValue, UnknownElement), match=words):
            codec.from_json(doc, None, holder)
    deep: dict = {}
    inner = deep
    for _ in range(10):
        inner["hvd-vm:vms"] = {}
        inner = inner["hvd-vm:vms"]
    with pytest.raises(MalformedMessage, match="deeper"):
        codec.from_json(deep, None, holder, depth=8)


def test_compare_patch_values_cut_out_of_their_tree(schema) -> None:
    """compare's anydata `value` holds the changed node as it is, a leaf or a list entry
    deep in the tree, not a top-level node: each is encoded by its own schema node."""
    codec = JsonCodec(schema)
    out = etree.fromstring(
        '<output xmlns="urn:hvd:system"><patch><edit><edit-id>1</edit-id>'
        '<operation>replace</operation><target>/hvd-vm:vms/vm[name="a"]/memory</target>'
        '<value><memory xmlns="urn:hvd:vm">256</memory></value></edit>'
        '<edit><edit-id>2</edit-id><operation>create</operation>'
        '<target>/hvd-vm:vms/vm[name="b"]</target><value><vm xmlns="urn:hvd:vm">'
        '<name>b</name><cpu>2</cpu></vm></value></edit></patch></output>')
    rpc = next(tag for tag in schema.outputs if tag.endswith("}compare"))
    got = codec.to_json(list(out), schema.outputs[rpc], "urn:hvd:system")
    edits = got["patch"]["edit"]
    assert edits[0]["value"] == {"hvd-vm:memory": 256}
    assert edits[1]["value"] == {"hvd-vm:vm": [{"name": "b", "cpu": 2}]}
