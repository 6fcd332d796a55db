"""The shipped guest templates are valid hvd-template entries, and each expands into a VM that
hvd-vm accepts, with the loader and devices its name promises (issue 20, item 2)."""

from __future__ import annotations

import pytest
from lxml import etree

from hvd_netconf import templates
from hvd_netconf.errors import InvalidValue
from hvd_netconf.host import specs
from hvd_netconf.namespaces import BASE, NETWORK, TEMPLATE, VM
from hvd_netconf.schema import load_schema
from hvd_netconf.schema.validate import validate

SHIPPED = ("freebsd", "linux-grub", "linux-uefi", "netbsd", "openbsd", "ubuntu", "windows-uefi")


def _config(*tops: etree._Element) -> etree._Element:
    root = etree.Element(f"{{{BASE}}}config")
    root.extend(tops)
    return root


def test_the_shipped_set_and_file_names() -> None:
    assert tuple(templates.shipped()) == SHIPPED
    for name, t in templates.shipped().items():
        assert (templates.SHIPPED_DIR / f"{name}.xml").is_file() and t.origin == "shipped"
        assert t.description


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_is_valid_and_expands_to_a_valid_vm(name: str) -> None:
    schema = load_schema()
    t = templates.shipped()[name]
    holder = etree.Element(f"{{{TEMPLATE}}}templates")
    holder.append(etree.fromstring(etree.tostring(t.element)))
    assert validate(schema, _config(holder)) == []

    vm = templates.expand(t, "guest", "lan")
    nets = etree.fromstring(f'<networks xmlns="{NETWORK}"><network><name>lan</name></network>'
                            "</networks>")
    vms = etree.Element(f"{{{VM}}}vms")
    vms.append(vm)
    assert validate(schema, _config(nets, vms)) == []
    spec = specs.read_vm(vm)
    assert spec.name == "guest" and [n.network for n in spec.nics] == ["lan"]
    assert spec.disks and spec.disks[0].name == "disk0"
    loader = {"freebsd": "bhyveload", "linux-grub": "grub"}.get(name, "uefi")
    assert spec.loader == loader
    if name == "windows-uefi":
        assert (spec.utc_clock, spec.disks[0].emulation, spec.nics[0].emulation) == \
            (False, "ahci-hd", "e1000")


def test_a_nic_without_a_network_needs_one() -> None:
    with pytest.raises(InvalidValue) as e:
        templates.expand(templates.shipped()["freebsd"], "web", None)
    assert e.value.message == ("template freebsd gives VM web NIC nic0 without a network: name "
                               "the network it joins")


def test_a_configured_template_replaces_a_shipped_one() -> None:
    running = etree.fromstring(
        f'<config xmlns="{BASE}"><templates xmlns="{TEMPLATE}"><template><name>freebsd</name>'
        "<cpu>4</cpu></template><template><name>mine</name></template></templates></config>")
    found = templates.available(running)
    assert list(found) == sorted([*SHIPPED, "mine"])
    assert found["freebsd"].origin == "configured"
    vm = templates.expand(found["freebsd"], "big", None)
    assert etree.tostring(vm, encoding="unicode") == (
        f'<vm xmlns="{VM}"><name>big</name><cpu>4</cpu></vm>')
