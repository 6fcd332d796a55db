"""Golden netd edit-config XML, from netd's model (docs/freebsd-facts.md §13.1): ietf-interfaces
with iana-if-type, ietf-ip, ietf-network-instance's bind-ni-name, and netd's own module."""

import pytest
from lxml import etree

from hvd_netconf.host import netd_edits as ne
from hvd_netconf.xmlparse import parse

HEAD = ('<interfaces xmlns="urn:ietf:params:xml:ns:yang:ietf-interfaces" '
        'xmlns:nc="urn:ietf:params:xml:ns:netconf:base:1.0">')
TAIL = "</interfaces>"
NETD = "urn:ietf:params:xml:ns:yang:netd"


def test_bridge_create_and_its_undo():
    assert ne.bridge_create("hv-lan", "hvd:net/lan") == HEAD + (
        '<interface nc:operation="create"><name>hv-lan</name>'
        '<type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:bridge</type>'
        "<description>hvd:net/lan</description><enabled>true</enabled>"
        f'<groups xmlns="{NETD}"><group>hvd</group></groups></interface>') + TAIL
    assert ne.destroy("hv-lan") == HEAD + (
        '<interface nc:operation="delete"><name>hv-lan</name></interface>') + TAIL


def test_member_add_and_remove():
    assert ne.bridge_addm("hv-lan", "em0") == HEAD + (
        f'<interface><name>hv-lan</name><bridge-members xmlns="{NETD}" nc:operation="create">'
        "<member>em0</member></bridge-members></interface>") + TAIL
    assert ne.bridge_deletem("hv-lan", "em0") == HEAD + (
        f'<interface><name>hv-lan</name><bridge-members xmlns="{NETD}" nc:operation="delete">'
        "<member>em0</member></bridge-members></interface>") + TAIL


def test_vlan_create_names_tags_and_groups_it():
    assert ne.vlan_create("em0", 100, "hvd:net/lan/uplink") == HEAD + (
        '<interface nc:operation="create"><name>em0.100</name>'
        '<type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:l2vlan</type>'
        "<description>hvd:net/lan/uplink</description><enabled>true</enabled>"
        f'<groups xmlns="{NETD}"><group>hvd</group></groups>'
        f'<vlan-info xmlns="{NETD}"><vlan-id>100</vlan-id><vlan-proto>802.1q</vlan-proto>'
        "<vlan-parent>em0</vlan-parent></vlan-info></interface>") + TAIL


def test_tap_create_is_netd_tap_in_the_port_group():
    assert ne.tap_create("tap3", "web", "net0") == HEAD + (
        '<interface nc:operation="create"><name>tap3</name>'
        f'<type xmlns:netd="{NETD}">netd:tap</type>'
        "<description>hvd:vm/web/net0</description><enabled>true</enabled>"
        f'<groups xmlns="{NETD}"><group>hvd-port</group></groups></interface>') + TAIL


def test_fib_is_a_vrf_binding_and_fib_0_removes_it():
    ni = "urn:ietf:params:xml:ns:yang:ietf-network-instance"
    assert ne.set_fib("hv-lan", 2) == HEAD + (
        f'<interface><name>hv-lan</name><bind-ni-name xmlns="{ni}">vrf2</bind-ni-name>'
        "</interface>") + TAIL
    assert ne.set_fib("hv-lan", 0) == HEAD + (
        f'<interface><name>hv-lan</name><bind-ni-name xmlns="{ni}" nc:operation="remove"/>'
        "</interface>") + TAIL


def test_addresses_v4_and_v6_with_prefix():
    ip = "urn:ietf:params:xml:ns:yang:ietf-ip"
    assert ne.address_add("hv-lan", "10.0.0.1/24") == HEAD + (
        f'<interface><name>hv-lan</name><ipv4 xmlns="{ip}"><address nc:operation="create">'
        "<ip>10.0.0.1</ip><prefix-length>24</prefix-length></address></ipv4></interface>"
    ) + TAIL
    assert ne.address_remove("hv-lan", "fd00::1/64") == HEAD + (
        f'<interface><name>hv-lan</name><ipv6 xmlns="{ip}"><address nc:operation="delete">'
        "<ip>fd00::1</ip><prefix-length>64</prefix-length></address></ipv6></interface>"
    ) + TAIL


def test_description_is_escaped():
    assert ne.set_descr("hv-lan", "hvd:net/lan a<b & c") == HEAD + (
        "<interface><name>hv-lan</name>"
        "<description>hvd:net/lan a&lt;b &amp; c</description></interface>") + TAIL


def test_edit_config_targets_the_candidate():
    assert ne.edit_config("<x/>") == (
        '<edit-config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">'
        "<target><candidate/></target><config><x/></config></edit-config>")


@pytest.mark.parametrize("config", [
    ne.bridge_create("hv-lan", "d"), ne.bridge_addm("hv-lan", "tap0"),
    ne.vlan_create("em0", 7, "d"), ne.set_fib("hv-lan", 0), ne.address_add("x", "::1/128"),
])
def test_every_edit_is_well_formed_xml(config):
    root = parse(ne.edit_config(config).encode())
    assert etree.QName(root).localname == "edit-config"


def test_a_name_too_long_for_an_interface_is_refused():
    with pytest.raises(ValueError, match="1 to 15 characters"):
        ne.bridge_create("a" * 16, "d")
