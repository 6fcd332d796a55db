"""Guest templates: the ones hvd ships (the XML files beside this module, each one entry of
hvd-template's /templates/template) and the administrator's own (/templates in running), and
their expansion into a new VM's ordinary hvd-vm configuration.

The expansion is plain data: each template leaf goes to the VM leaf of the same meaning, so
the VM carries everything it runs with and nothing points back at the template.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

from hvd_netconf.errors import InvalidValue
from hvd_netconf.namespaces import TEMPLATE, VM, default_ns, qn
from hvd_netconf.xmlparse import parse_file

SHIPPED_DIR = Path(__file__).parent

# template leaf -> the VM's leaf (slash: below a container), in hvd-vm's order
_LEAVES = (("description", "description"), ("cpu", "cpu"), ("memory", "memory"),
           ("virtio-rnd", "virtio-rnd"), ("loader", "loader/type"),
           ("grub-root", "loader/grub-root"), ("utc-clock", "utc-clock"))


@dataclass(frozen=True)
class Template:
    name: str
    origin: str  # "shipped" | "configured" (hvd-template list-templates)
    element: etree._Element  # a <template xmlns="urn:hvd:template">

    @property
    def description(self) -> str:
        return (self.element.findtext(qn(TEMPLATE, "description")) or "").strip()


def _name(el: etree._Element) -> str:
    return (el.findtext(qn(TEMPLATE, "name")) or "").strip()


@cache
def shipped() -> dict[str, Template]:
    """The templates that come with hvd, by name."""
    out = {}
    for path in sorted(SHIPPED_DIR.glob("*.xml")):
        el = parse_file(str(path))
        out[_name(el)] = Template(_name(el), "shipped", el)
    return out


def available(running: etree._Element) -> dict[str, Template]:
    """Shipped and configured templates by name, in name order; a configured one replaces a
    shipped one of its name."""
    found = dict(shipped())
    for el in running.iterfind(f"{qn(TEMPLATE, 'templates')}/{qn(TEMPLATE, 'template')}"):
        found[_name(el)] = Template(_name(el), "configured", el)
    return dict(sorted(found.items()))


def _copy(src: etree._Element, dst: etree._Element, names: tuple[str, ...]) -> None:
    for name in names:
        text = src.findtext(qn(TEMPLATE, name))
        if text is not None:
            etree.SubElement(dst, qn(VM, name)).text = text.strip()


def expand(template: Template, name: str, network: str | None,
           ssh_keys: tuple[str, ...] = ()) -> etree._Element:
    """The <vm> entry `template` gives a new VM `name`; a NIC that names no network joins
    `network`; SSH keys give it cloud-init with them."""
    src = template.element
    vm = etree.Element(qn(VM, "vm"), nsmap=default_ns(VM))
    etree.SubElement(vm, qn(VM, "name")).text = name
    for leaf, path in _LEAVES:
        text = src.findtext(qn(TEMPLATE, leaf))
        if text is None:
            continue
        parent = vm
        *containers, last = path.split("/")
        for c in containers:
            found = parent.find(qn(VM, c))
            parent = found if found is not None else etree.SubElement(parent, qn(VM, c))
        etree.SubElement(parent, qn(VM, last)).text = text.strip()
    for disk in src.iterchildren(qn(TEMPLATE, "disk")):
        _copy(disk, etree.SubElement(vm, qn(VM, "disk")), ("name", "size", "emulation"))
    for nic in src.iterchildren(qn(TEMPLATE, "nic")):
        joins = (nic.findtext(qn(TEMPLATE, "network")) or "").strip() or network
        if not joins:
            nic_name = (nic.findtext(qn(TEMPLATE, "name")) or "").strip()
            raise InvalidValue(f"template {template.name} gives VM {name} NIC {nic_name} without "
                               "a network: name the network it joins",
                               info=[("bad-element", "network")])
        el = etree.SubElement(vm, qn(VM, "nic"))
        _copy(nic, el, ("name",))
        etree.SubElement(el, qn(VM, "network")).text = joins
        _copy(nic, el, ("emulation",))
    if ssh_keys:
        ci = etree.SubElement(vm, qn(VM, "cloud-init"))
        for key in ssh_keys:
            etree.SubElement(ci, qn(VM, "ssh-authorized-key")).text = key
    return vm
