"""Builders for <config> trees in the shape of the YANG models (the apply and edit tests use
them through the `cfg` fixture)."""

import itertools

import pytest
from lxml import etree

from hvd_netconf.edit.diff import entries
from hvd_netconf.host import bhyve, names, specs

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"


def leaves(**kw):
    return "".join(f"<{k.replace('_', '-')}>{v}</{k.replace('_', '-')}>" for k, v in kw.items())


def network(name, **kw):
    return f"<network><name>{name}</name>{leaves(**kw)}</network>"


def disk(name, size, **kw):
    return f"<disk><name>{name}</name><size>{size}</size>{leaves(**kw)}</disk>"


def nic(name, net, **kw):
    return f"<nic><name>{name}</name><network>{net}</network>{leaves(**kw)}</nic>"


def vm(name, *parts, **kw):
    return f"<vm><name>{name}</name>{leaves(**kw)}{''.join(parts)}</vm>"


def hide_vm(vm, user, extra_rules=""):
    """A <config> that turns NACM on (reads and operations permitted by default) and hides the
    VM `vm` from `user` (group ops), with `extra_rules` in the same rule list."""
    return (f'<config xmlns="{BASE}"><nacm xmlns="urn:ietf:params:xml:ns:yang:ietf-netconf-acm">'
            "<enable-nacm>true</enable-nacm><read-default>permit</read-default>"
            "<exec-default>permit</exec-default>"
            f"<groups><group><name>ops</name><user-name>{user}</user-name></group></groups>"
            "<rule-list><name>ops</name><group>ops</group>"
            f"<rule><name>hide-{vm}</name><module-name>hvd-vm</module-name>"
            f"<path xmlns:v=\"urn:hvd:vm\">/v:vms/v:vm[v:name='{vm}']</path>"
            "<access-operations>read</access-operations><action>deny</action></rule>"
            f"{extra_rules}</rule-list></nacm></config>")


def config(networks=(), vms=()):
    return etree.fromstring(
        f'<config xmlns="{BASE}">'
        f'<networks xmlns="urn:hvd:network">{"".join(networks)}</networks>'
        f'<vms xmlns="urn:hvd:vm">{"".join(vms)}</vms></config>')


class Vms:
    """A VmControl stand-in recording stops; the running VMs were started from `started` (a
    config root), as the supervisor would have started them."""

    def __init__(self, running=(), started=None):
        self.running = set(running)
        self.started = entries(started)
        self.stopped = []

    def launched(self, name):
        el = self.started.get(("vm", name))
        if name not in self.running or el is None:
            return None
        spec = specs.read_vm(el)
        mtus = {n.network: specs.read_network(self.started[("network", n.network)]).mtu
                for n in spec.nics}
        return bhyve.launch(spec, mtus)

    def is_running(self, name):
        return name in self.running

    def bridge_taps(self):
        """bridge -> taps, as the supervisor reports them: tap0, tap1... per NIC, in the order
        of the running VMs' names."""
        out, taps = {}, (f"tap{i}" for i in itertools.count())
        for name in sorted(self.running):
            el = self.started.get(("vm", name))
            for nic in specs.read_vm(el).nics if el is not None else ():
                out.setdefault(names.bridge_name(nic.network), []).append(next(taps))
        return out

    def running_names(self):
        return sorted(self.running)

    def pid(self, name):
        """A pid per running VM, in the order of their names."""
        return 1000 + sorted(self.running).index(name) if name in self.running else None

    def stop(self, name):
        self.running.discard(name)
        self.stopped.append(name)


@pytest.fixture
def cfg():
    class C:
        pass

    c = C()
    c.network, c.disk, c.nic, c.vm, c.config, c.Vms = network, disk, nic, vm, config, Vms
    return c
