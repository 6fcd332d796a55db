"""Subtree and XPath filtering over plain lxml trees (RFC 6241 §6, §8.9), no sockets."""

from __future__ import annotations

import pytest
from lxml import etree

from hvd_netconf.errors import BadAttribute, InvalidValue, MissingAttribute
from hvd_netconf.filter import apply_filter, parse_filter
from hvd_netconf.filter.xpath import rewrite_absolute
from hvd_netconf.namespaces import BASE, NETWORK, VM

DATA = f"""<config xmlns="{BASE}">
  <vms xmlns="{VM}">
    <vm><name>web</name><cpu>2</cpu><memory>1024</memory>
      <disk><name>d0</name><size>10G</size></disk>
      <disk><name>d1</name><size>20G</size></disk></vm>
    <vm><name>db</name><cpu>4</cpu><memory>4096</memory></vm>
    <vm><name>idle</name><cpu>2</cpu><memory>512</memory></vm>
  </vms>
  <networks xmlns="{NETWORK}">
    <network><name>lan</name><mtu>1500</mtu></network>
  </networks>
</config>"""


class _Node:
    def __init__(self, keys: tuple[str, ...] = (), children: dict[str, _Node] | None = None):
        self.keys = keys
        self._children = children or {}

    def child(self, ns: str, name: str) -> _Node | None:
        return self._children.get(name)


class _Schema:
    """Just enough of the schema API for list keys: vms/vm[name]/disk[name], networks/network."""

    def __init__(self) -> None:
        disk = _Node(("name",))
        self._top = {
            "vms": _Node(children={"vm": _Node(("name",), {"disk": disk})}),
            "networks": _Node(children={"network": _Node(("name",))}),
        }

    def top(self, ns: str, name: str) -> _Node | None:
        return self._top.get(name)


def run(filter_xml: str | None, schema: object = None) -> etree._Element:
    root = etree.fromstring(DATA, etree.XMLParser(remove_blank_text=True))
    spec = None
    if filter_xml is not None:
        spec = parse_filter(etree.fromstring(filter_xml))
    out = etree.Element(f"{{{BASE}}}data", nsmap={None: BASE})
    return apply_filter(spec, root, out, schema if schema is not None else _Schema())


def names(out: etree._Element, path: str = "v:vms/v:vm/v:name") -> list[str]:
    return [e.text for e in out.xpath(path, namespaces={"v": VM})]


def filt(body: str, attrs: str = "") -> str:
    return f'<filter xmlns="{BASE}" {attrs}>{body}</filter>'


def test_no_filter_returns_everything() -> None:
    out = run(None)
    assert names(out) == ["web", "db", "idle"]
    assert out.find(f"{{{NETWORK}}}networks") is not None


def test_empty_filter_selects_nothing() -> None:
    assert len(run(filt(""))) == 0


def test_selection_node_selects_subtree() -> None:
    out = run(filt(f'<networks xmlns="{NETWORK}"/>'))
    assert [c.tag for c in out] == [f"{{{NETWORK}}}networks"]
    assert out.find(f".//{{{NETWORK}}}mtu").text == "1500"


def test_namespace_must_match() -> None:
    assert len(run(filt('<vms xmlns="urn:other"/>'))) == 0


def test_unqualified_filter_node_matches_any_namespace() -> None:
    out = run('<filter><networks/></filter>')
    assert out.find(f"{{{NETWORK}}}networks") is not None


def test_content_match_on_key_selects_entry_whole() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><name>db</name></vm></vms>'))
    assert names(out) == ["db"]
    assert out.find(f".//{{{VM}}}memory").text == "4096"


def test_content_match_with_selection_returns_keys_and_selected_only() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><name>web</name><cpu/></vm></vms>'))
    vm = out.find(f"{{{VM}}}vms/{{{VM}}}vm")
    assert [etree.QName(c).localname for c in vm] == ["name", "cpu"]


def test_several_content_matches_are_anded() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><cpu>2</cpu><memory>512</memory></vm></vms>'))
    assert names(out) == ["idle"]
    out = run(filt(f'<vms xmlns="{VM}"><vm><cpu>4</cpu><memory>512</memory></vm></vms>'))
    assert len(out) == 0


def test_non_key_content_match_selects_several_entries() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><cpu>2</cpu><memory/></vm></vms>'))
    assert names(out) == ["web", "idle"]
    # keys come back even though only memory was selected
    assert [e.text for e in out.iter(f"{{{VM}}}memory")] == ["1024", "512"]


def test_selection_without_content_match_includes_list_keys() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><memory/></vm></vms>'))
    assert names(out) == ["web", "db", "idle"]
    first = out.find(f"{{{VM}}}vms/{{{VM}}}vm")
    assert [etree.QName(c).localname for c in first] == ["name", "memory"]


def test_nested_list_keys_come_back() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><name>web</name><disk><size>20G</size></disk></vm>'
                   '</vms>'))
    disk = out.find(f".//{{{VM}}}disk")
    assert [c.text for c in disk] == ["d1", "20G"]
    assert out.find(f".//{{{VM}}}cpu") is None


def test_sibling_subtrees_form_a_union_merged_per_entry() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><name>web</name><cpu/></vm>'
                   '<vm><name>web</name><memory/></vm><vm><name>db</name></vm></vms>'
                   f'<networks xmlns="{NETWORK}"><network><name>lan</name><mtu/></network>'
                   '</networks>'))
    assert names(out) == ["web", "db"]
    web = out.find(f"{{{VM}}}vms/{{{VM}}}vm")
    assert [etree.QName(c).localname for c in web] == ["name", "cpu", "memory"]
    assert out.find(f".//{{{NETWORK}}}mtu").text == "1500"


def test_content_match_that_fails_selects_nothing() -> None:
    assert len(run(filt(f'<vms xmlns="{VM}"><vm><name>nope</name></vm></vms>'))) == 0


def test_containment_without_match_is_left_out() -> None:
    out = run(filt(f'<vms xmlns="{VM}"><vm><no-such-leaf/></vm></vms>'))
    assert len(out) == 0


def test_attribute_match_expression() -> None:
    root = etree.fromstring(f'<config xmlns="{BASE}"><t xmlns="urn:t"><e k="1">a</e>'
                            '<e k="2">b</e></t></config>')
    spec = parse_filter(etree.fromstring(filt('<t xmlns="urn:t"><e k="2"/></t>')))
    out = apply_filter(spec, root, etree.Element("data"))
    assert [e.text for e in out.iter("{urn:t}e")] == ["b"]


def test_xpath_selects_with_ancestors_and_keys() -> None:
    out = run(filt("", f'type="xpath" xmlns:v="{VM}" select="/v:vms/v:vm[v:cpu=4]/v:memory"'))
    vm = out.find(f"{{{VM}}}vms/{{{VM}}}vm")
    assert [c.text for c in vm] == ["db", "4096"]


def test_xpath_union_and_descendant() -> None:
    out = run(filt("", f'type="xpath" xmlns:v="{VM}" xmlns:n="{NETWORK}" '
                       'select="//v:disk[v:name=\'d0\'] | /n:networks"'))
    assert [c.text for c in out.find(f".//{{{VM}}}disk")] == ["d0", "10G"]
    assert names(out) == ["web"]
    assert out.find(f".//{{{NETWORK}}}mtu") is not None


def test_xpath_text_node_result_selects_its_element() -> None:
    out = run(filt("", f'type="xpath" xmlns:v="{VM}" select="/v:vms/v:vm/v:name/text()"'))
    assert names(out) == ["web", "db", "idle"]
    assert out.find(f".//{{{VM}}}cpu") is None


def test_xpath_root_selects_everything() -> None:
    assert names(run(filt("", 'type="xpath" select="/"'))) == ["web", "db", "idle"]


def test_xpath_undeclared_prefix_is_invalid_value() -> None:
    with pytest.raises(InvalidValue):
        run(filt("", 'type="xpath" select="/x:vms"'))


def test_xpath_non_node_set_is_invalid_value() -> None:
    with pytest.raises(InvalidValue):
        run(filt("", f'type="xpath" xmlns:v="{VM}" select="count(/v:vms/v:vm)"'))


def test_xpath_syntax_error_is_invalid_value() -> None:
    with pytest.raises(InvalidValue):
        run(filt("", 'type="xpath" select="/a["'))


def test_xpath_without_select_is_missing_attribute() -> None:
    with pytest.raises(MissingAttribute):
        parse_filter(etree.fromstring(filt("", 'type="xpath"')))


def test_unknown_filter_type_is_bad_attribute() -> None:
    with pytest.raises(BadAttribute):
        parse_filter(etree.fromstring(filt("", 'type="regex"')))


def test_xpath_refused_when_not_allowed() -> None:
    with pytest.raises(BadAttribute):
        parse_filter(etree.fromstring(filt("", 'type="xpath" select="/"')), xpath_allowed=False)


@pytest.mark.parametrize(("expr", "want"), [
    ("/a:b/a:c", "/*/a:b/a:c"),
    ("/", "/*"),
    ("//a:x", "/*//a:x"),
    ("count(/a:b) > 1", "count(/*/a:b) > 1"),
    ("/a:b[a:n = /a:c/a:d]", "/*/a:b[a:n = /*/a:c/a:d]"),
    ("/a:b | /a:c", "/*/a:b | /*/a:c"),
    ("2 * 3", "2 * 3"),
    ("a:b/c", "a:b/c"),
    ('/a:b[. = "/x"]', '/*/a:b[. = "/x"]'),
    ("x div /a", "x div /*/a"),
    ("/a:b/*", "/*/a:b/*"),
])
def test_rewrite_absolute(expr: str, want: str) -> None:
    assert rewrite_absolute(expr) == want
