"""A <config> that is not one data tree is refused whole, by every operation that takes one:
a list entry, leaf or container given twice, text inside a container or list entry, and an
attribute no specification defines (hvd_netconf/edit/content.py). Over the wire, on a running
hvd with the daemon's own wiring."""

from __future__ import annotations

import pytest
from lxml import etree
from ncclient.operations import RPCError
from ncclient.xml_ import to_ele

from hvd_netconf.namespaces import BASE, NETWORK, VM

NS = {"n": NETWORK, "v": VM}
DUP_NET = (f'<networks xmlns="{NETWORK}"><network><name>dupnet</name></network>'
           "<network><name>dupnet</name><mtu>9000</mtu></network></networks>")
DUP_PATH = "/hvd-net:networks/hvd-net:network[hvd-net:name='dupnet']"


def _carriers(content: str) -> dict[str, str]:
    """The RPCs that take a <config>: edit-config under each default-operation, copy-config,
    validate."""
    cfg = f'<config xmlns:xc="{BASE}">{content}</config>'
    out = {f"copy-config {t}": f'<copy-config xmlns="{BASE}"><target><{t}/></target>'
                               f"<source>{cfg}</source></copy-config>"
           for t in ("running", "candidate")}
    out["validate"] = f'<validate xmlns="{BASE}"><source>{cfg}</source></validate>'
    for target in ("running", "candidate"):
        for default in ("merge", "replace", "none"):
            out[f"edit-config {target} {default}"] = (
                f'<edit-config xmlns="{BASE}"><target><{target}/></target>'
                f"<default-operation>{default}</default-operation>{cfg}</edit-config>")
    return out


def _both(m) -> tuple[bytes, bytes]:
    return tuple(etree.tostring(m.get_config(ds).data_ele, method="c14n")  # type: ignore[return-value]
                 for ds in ("running", "candidate"))


def _refused(m, content: str) -> list[RPCError]:
    """Send `content` in every carrier; each must fail and change neither datastore."""
    before = _both(m)
    errors = []
    for what, rpc in _carriers(content).items():
        with pytest.raises(RPCError) as ei:
            m.dispatch(to_ele(rpc))
        errors.append(ei.value)
        assert _both(m) == before, what
    return errors


def test_two_entries_of_one_key_are_refused_not_merged(hvd):
    with hvd.connect_uds() as m:
        for e in _refused(m, DUP_NET):
            assert (e.tag, e.app_tag, e.path) == ("operation-failed", "data-not-unique",
                                                  DUP_PATH), e
        assert m.get_config("running").data_ele.find(".//n:network", NS) is None


def test_each_operation_type_refuses_a_repeated_entry(hvd):
    with hvd.connect_uds() as m:
        for op in ("merge", "replace", "create", "delete", "remove"):
            body = (f'<networks xmlns="{NETWORK}"><network xc:operation="{op}"><name>d</name>'
                    "</network><network><name>d</name></network></networks>")
            with pytest.raises(RPCError) as ei:
                m.dispatch(to_ele(f'<edit-config xmlns="{BASE}"><target><running/></target>'
                                  f'<config xmlns:xc="{BASE}">{body}</config></edit-config>'))
            assert ei.value.tag == "operation-failed", op
            assert ei.value.path == "/hvd-net:networks/hvd-net:network[hvd-net:name='d']", op


@pytest.mark.parametrize(("content", "tag", "path"), [
    # a leaf given twice: the second value used to win silently
    (f'<vms xmlns="{VM}"><vm><name>a</name><cpu>2</cpu><cpu>4</cpu></vm></vms>',
     "bad-element", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:cpu"),
    # a key leaf given twice: the second value used to be dropped silently
    (f'<vms xmlns="{VM}"><vm><name>a</name><name>b</name></vm></vms>',
     "bad-element", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:name"),
    (f'<vms xmlns="{VM}"><vm><name>a</name></vm></vms><vms xmlns="{VM}"/>',
     "bad-element", "/hvd-vm:vms"),
    (f'<vms xmlns="{VM}"><vm><name>a</name><disk><name>d</name><size>1G</size></disk>'
     "<disk><name>d</name><size>2G</size></disk></vm></vms>",
     "operation-failed",
     "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:disk[hvd-vm:name='d']"),
    # text inside a list entry and inside a container
    (f'<vms xmlns="{VM}"><vm>junk<name>a</name></vm></vms>',
     "bad-element", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']"),
    (f'<vms xmlns="{VM}"><vm><name>a</name></vm>junk</vms>', "bad-element", "/hvd-vm:vms"),
    # attributes: none, an unknown namespace, a known one that defines no such attribute
    (f'<vms xmlns="{VM}"><vm color="red"><name>a</name></vm></vms>',
     "unknown-attribute", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']"),
    (f'<vms xmlns="{VM}" xmlns:x="urn:x"><vm><name x:y="1">a</name></vm></vms>',
     "unknown-attribute", "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='a']/hvd-vm:name"),
    (f'<vms xmlns="{VM}" xmlns:v="{VM}" v:cpu="1"/>', "unknown-attribute", "/hvd-vm:vms"),
])
def test_content_that_is_not_one_data_tree_is_refused(hvd, content, tag, path):
    with hvd.connect_uds() as m:
        for e in _refused(m, content):
            assert (e.tag, e.path) == (tag, path), e
            assert e.message


def test_allowed_attributes_and_whitespace_still_work(hvd):
    with hvd.connect_uds() as m:
        m.dispatch(to_ele(
            f'<edit-config xmlns="{BASE}"><target><running/></target>'
            f'<config xmlns:xc="{BASE}" xmlns:wd="urn:ietf:params:xml:ns:netconf:default:1.0">'
            f'\n  <networks xmlns="{NETWORK}">\n    <network xc:operation="create">\n'
            "      <name>ok</name>\n      <mtu wd:default=\"true\">1500</mtu>\n    </network>\n"
            "  </networks>\n</config></edit-config>"))
        assert m.get_config("running").data_ele.findtext(".//n:network/n:name", namespaces=NS
                                                        ) == "ok"


NACM_NS = "urn:ietf:params:xml:ns:yang:ietf-netconf-acm"


def _rule(body: str, decl: str = f'xmlns:v="{VM}"') -> str:
    return (f'<nacm xmlns="{NACM_NS}" {decl}><rule-list><name>l</name><rule><name>r</name>'
            f"{body}<action>deny</action></rule></rule-list></nacm>")


@pytest.mark.parametrize(("content", "tag", "path"), [
    # data for two cases of one choice (RFC 7950 §8.3.1), found by the yanglint comparison
    (_rule("<rpc-name>get</rpc-name><path>/v:vms</path>"), "bad-element",
     "/nacm:nacm/nacm:rule-list[nacm:name='l']/nacm:rule[nacm:name='r']/nacm:path"),
    # NACM paths that are no node-instance-identifier (RFC 8341 §3.5.2)
    *[(_rule(f"<path>{p}</path>"), "invalid-value",
       "/nacm:nacm/nacm:rule-list[nacm:name='l']/nacm:rule[nacm:name='r']/nacm:path")
      for p in ("vms", "/v:vms/vm", "/v:vms/v:nosuch", "/u:vms", "/v:vms/v:vm[1]",
                "/v:vms/v:vm[v:cpu='1']", "/v:vms/v:vm[v:name='a'][v:name='b']")],
])
def test_validate_refuses_what_yanglint_refuses(hvd, content, tag, path):
    with hvd.connect_uds() as m:
        with pytest.raises(RPCError) as ei:
            m.dispatch(to_ele(f'<validate xmlns="{BASE}"><source><config>{content}</config>'
                              "</source></validate>"))
        assert (ei.value.tag, ei.value.path) == (tag, path), ei.value


def test_a_nacm_path_keeps_the_prefixes_it_was_written_with(hvd):
    """The value of a rule's path means something only with its namespace declarations: the
    stored rule keeps them, so running validates and get-config returns a usable path."""
    with hvd.connect_uds() as m:
        m.dispatch(to_ele(f'<edit-config xmlns="{BASE}"><target><running/></target><config>'
                          + _rule("<path>/v:vms/v:vm[v:name='a']</path>",
                                  decl=f'xmlns:v="{VM}"') + "</config></edit-config>"))
        path = m.get_config("running").data_ele.find(f".//{{{NACM_NS}}}path")
        assert path.text == "/v:vms/v:vm[v:name='a']" and path.nsmap.get("v") == VM
        m.dispatch(to_ele(f'<validate xmlns="{BASE}"><source><running/></source></validate>'))
