from __future__ import annotations

import pytest
from lxml import etree
from support.rawclient import errors, hello_xml

from hvd_netconf.errors import InvalidValue, LockDenied, MissingAttribute, RpcError
from hvd_netconf.namespaces import BASE, CAP_BASE_10, CAP_BASE_11, VM
from hvd_netconf.wire import messages

NS = {"nc": BASE}


def test_hello_roundtrip_has_caps_and_session_id() -> None:
    root = etree.fromstring(messages.build_hello([CAP_BASE_10, CAP_BASE_11], 42))
    assert root.findtext("nc:session-id", namespaces=NS) == "42"
    caps = [c.text for c in root.iterfind("nc:capabilities/nc:capability", NS)]
    assert caps == [CAP_BASE_10, CAP_BASE_11]


@pytest.mark.parametrize(("caps", "base"), [
    ((CAP_BASE_10,), "1.0"), ((CAP_BASE_11,), "1.1"), ((CAP_BASE_10, CAP_BASE_11), "1.1"),
])
def test_hello_picks_highest_common_base(caps: tuple[str, ...], base: str) -> None:
    assert messages.parse_hello(etree.fromstring(hello_xml(*caps))).base == base


def test_hello_only_10_server_side() -> None:
    hello = etree.fromstring(hello_xml(CAP_BASE_10, CAP_BASE_11))
    assert messages.parse_hello(hello, ("1.0",)).base == "1.0"


@pytest.mark.parametrize("xml", [
    hello_xml(CAP_BASE_11, session_id=4),
    hello_xml("urn:ietf:params:netconf:base:2.0"),
    hello_xml(),
    f'<hello xmlns="{BASE}"/>'.encode(),
    b'<hello xmlns="urn:other"><capabilities/></hello>',
    f'<rpc xmlns="{BASE}" message-id="1"><get/></rpc>'.encode(),
])
def test_bad_hellos(xml: bytes) -> None:
    with pytest.raises(messages.BadHello):
        messages.parse_hello(etree.fromstring(xml))


def test_reply_echoes_every_attribute() -> None:
    rpc = messages.parse_rpc(etree.fromstring(
        f'<rpc xmlns="{BASE}" xmlns:x="urn:x" message-id="7" foo="a&amp;b" x:bar="q">'
        "<get/></rpc>".encode()))
    reply = etree.fromstring(messages.reply_ok(rpc.attrib))
    assert reply.tag == f"{{{BASE}}}rpc-reply"
    assert reply.get("message-id") == "7"
    assert reply.get("foo") == "a&b"
    assert reply.get("{urn:x}bar") == "q"
    assert reply.find("nc:ok", NS) is not None


def test_reply_body_does_not_move_the_handlers_element() -> None:
    tree = etree.fromstring(f'<config xmlns="{BASE}"><data><x xmlns="{VM}">1</x></data></config>')
    data = tree[0]
    reply = etree.fromstring(messages.reply_body({"message-id": "1"}, data))
    assert reply.find("nc:data", NS) is not None
    assert data.getparent() is tree


def test_missing_message_id() -> None:
    with pytest.raises(MissingAttribute) as info:
        messages.parse_rpc(etree.fromstring(f'<rpc xmlns="{BASE}"><get/></rpc>'))
    assert info.value.info == [("bad-attribute", "message-id"), ("bad-element", "rpc")]


def test_rpc_without_operation() -> None:
    with pytest.raises(RpcError) as info:
        messages.parse_rpc(etree.fromstring(f'<rpc xmlns="{BASE}" message-id="1"/>'))
    assert info.value.tag == "missing-element"


def test_rpc_error_rendering_full() -> None:
    err = InvalidValue("cpu out of range", path="/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='w']/hvd-vm:cpu",
                       app_tag="range", error_type="application", info=[("bad-element", "cpu")])
    reply = etree.fromstring(messages.reply_errors({"message-id": "3"}, [err, LockDenied(
        "locked", holder=5)]))
    got = errors(reply)
    assert got[0] == {"type": "application", "tag": "invalid-value", "severity": "error",
                      "app_tag": "range",
                      "path": "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='w']/hvd-vm:cpu",
                      "message": "cpu out of range", "info": {"bad-element": "cpu"}}
    assert got[1]["tag"] == "lock-denied" and got[1]["info"] == {"session-id": "5"}
    rpc_error = reply.find("nc:rpc-error", NS)
    assert rpc_error.nsmap["hvd-vm"] == VM  # the prefixes of error-path are declared
    msg = rpc_error.find("nc:error-message", NS)
    assert msg.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"


def test_message_id_escaping() -> None:
    for mid in ("1", 'a&b<"c\n\t', "é€", "x'y>"):
        assert etree.fromstring(messages.reply_ok({"message-id": mid})).get("message-id") == mid
        got = etree.fromstring(messages.reply_errors({"message-id": mid}, [InvalidValue("x")]))
        assert got.get("message-id") == mid
