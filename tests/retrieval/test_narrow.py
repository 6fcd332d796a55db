"""<get> copies (and asks state for) only the entries a subtree filter can select."""

from __future__ import annotations

from lxml import etree

from hvd_netconf.filter import parse_filter
from hvd_netconf.keys import KINDS
from hvd_netconf.namespaces import BASE, NETWORK, VM
from hvd_netconf.ops.retrieval import selected_names


def _spec(body: str):  # type: ignore[no-untyped-def]
    return parse_filter(etree.fromstring(f'<filter xmlns="{BASE}" type="subtree">{body}</filter>'))


def test_names_by_content_match() -> None:
    vm = KINDS["vm"]
    two = _spec(f'<vms xmlns="{VM}"><vm><name> a </name></vm><vm><name>b</name></vm></vms>')
    assert selected_names(two, vm) == {"a", "b"}
    assert selected_names(two, KINDS["network"]) == set()


def test_anything_else_selects_all() -> None:
    vm = KINDS["vm"]
    assert selected_names(None, vm) is None
    assert selected_names(_spec(f'<vms xmlns="{VM}"/>'), vm) is None
    assert selected_names(_spec(f'<vms xmlns="{VM}"><vm><cpu>2</cpu></vm></vms>'), vm) is None
    assert selected_names(_spec(f'<vms xmlns="{VM}"><vm><name/></vm></vms>'), vm) is None
    assert selected_names(_spec(f'<vms xmlns="{VM}"><vm/></vms>'), vm) is None
    assert selected_names(_spec(f'<networks xmlns="{NETWORK}"/>'), KINDS["network"]) is None


def test_filtered_get_over_the_wire(hvd) -> None:  # type: ignore[no-untyped-def]
    cfg = "".join(f"<vm><name>v{i}</name><cpu>{1 + i % 2}</cpu></vm>" for i in range(5))
    with hvd.connect_uds() as m:
        m.edit_config(f'<config xmlns="{BASE}"><vms xmlns="{VM}">{cfg}</vms></config>',
                      target="running")
        flt = f'<vms xmlns="{VM}"><vm><name>v3</name></vm><vm><name>v1</name></vm></vms>'
        data = etree.fromstring(m.get(filter=("subtree", flt)).data_xml.encode())
        names = [e.text for e in data.iter(f"{{{VM}}}name")]
        assert names == ["v1", "v3"]
        assert data.find(f".//{{{VM}}}state") is not None
