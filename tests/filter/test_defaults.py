"""RFC 6243 shaping of a reply tree (filter.defaults): report-all, report-all-tagged, trim, with
`when` and np-containers."""

from __future__ import annotations

import copy
from pathlib import Path

from lxml import etree

from hvd_netconf import namespaces as ns
from hvd_netconf.filter.defaults import apply_mode
from hvd_netconf.schema import load_schema

YANG = Path(__file__).resolve().parents[2] / "yang"
CFG = (b'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><vms xmlns="urn:hvd:vm">'
       b"<vm><name>a</name><cpu>1</cpu><memory>2048</memory><loader><type>grub</type></loader>"
       b"<disk><name>d</name><size>1G</size></disk></vm><vm><name>b</name></vm></vms>"
       b'<networks xmlns="urn:hvd:network"><network><name>n</name></network></networks></config>')
NSM = {"v": ns.VM, "n": ns.NETWORK}
DEFAULT_ATTR = ns.qn(ns.WD_ATTR, "default")


def _shaped(mode: str, schema, root: etree._Element) -> etree._Element:
    out = copy.deepcopy(root)
    apply_mode(mode, out, schema)
    return out


def _vm(root: etree._Element, name: str) -> etree._Element:
    return root.xpath(f"//v:vm[v:name='{name}']", namespaces=NSM)[0]


def test_report_all_adds_defaults_respecting_when() -> None:
    src = etree.fromstring(CFG)
    out = _shaped("report-all", load_schema(YANG), src)
    b = _vm(out, "b")
    assert b.xpath("string(v:loader/v:type)", namespaces=NSM) == "uefi"
    assert b.xpath("string(v:loader/v:uefi-vars)", namespaces=NSM) == "true"
    assert not b.xpath("v:loader/v:grub-root", namespaces=NSM)
    assert b.xpath("string(v:autostart/v:order)", namespaces=NSM) == "100"
    a = _vm(out, "a")
    assert a.xpath("string(v:loader/v:grub-root)", namespaces=NSM) == "hd0,msdos1"
    assert not a.xpath("v:loader/v:uefi-vars", namespaces=NSM)
    assert a.xpath("string(v:memory)", namespaces=NSM) == "2048"
    assert a.xpath("string(v:disk/v:emulation)", namespaces=NSM) == "virtio-blk"
    assert out.xpath("string(//n:network/n:mtu)", namespaces=NSM) == "1500"
    assert [etree.QName(c).localname for c in b][:3] == ["name", "cpu", "memory"]
    assert not src.xpath("//v:vm[v:name='b']/v:cpu", namespaces=NSM)  # input untouched


def test_report_all_tagged_marks_defaults_even_when_set() -> None:
    out = _shaped("report-all-tagged", load_schema(YANG), etree.fromstring(CFG))
    a = _vm(out, "a")
    assert a.find(ns.qn(ns.VM, "cpu")).get(DEFAULT_ATTR) == "true"  # set to its default
    assert a.find(ns.qn(ns.VM, "memory")).get(DEFAULT_ATTR) is None
    assert a.find(ns.qn(ns.VM, "stop-timeout")).get(DEFAULT_ATTR) == "true"


def test_trim_drops_default_values_and_empty_containers() -> None:
    schema = load_schema(YANG)
    out = _shaped("trim", schema, _shaped("report-all", schema, etree.fromstring(CFG)))
    a, b = _vm(out, "a"), _vm(out, "b")
    assert a.find(ns.qn(ns.VM, "cpu")) is None
    assert a.xpath("string(v:memory)", namespaces=NSM) == "2048"
    assert a.xpath("string(v:loader/v:type)", namespaces=NSM) == "grub"
    assert [etree.QName(c).localname for c in b] == ["name"]
    assert [etree.QName(c).localname for c in a.find(ns.qn(ns.VM, "disk"))] == ["name", "size"]
