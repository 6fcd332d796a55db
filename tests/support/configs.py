"""Builders for <config> trees in the shape of the YANG models (the apply and edit tests use
them through the `cfg` fixture)."""

import pytest
from lxml import etree

BASE = "urn:ietf:params:xml:ns:netconf:base:1.0"


def leaves(**kw):
    return "".join(f"<{k.replace('_', '-')}>{v}</{k.replace('_', '-')}>" for k, v in kw.items())


def network(name, **kw):
    return f"<network><name>{name}</name>{leaves(**kw)}</network>"


def disk(name, size, **kw):
    return f"<disk><name>{name}</name><size>{size}</size>{leaves(**kw)}</disk>"


def nic(name, net):
    return f"<nic><name>{name}</name><network>{net}</network></nic>"


def vm(name, *parts, **kw):
    return f"<vm><name>{name}</name>{leaves(**kw)}{''.join(parts)}</vm>"


def config(networks=(), vms=()):
    return etree.fromstring(
        f'<config xmlns="{BASE}">'
        f'<networks xmlns="urn:hvd:network">{"".join(networks)}</networks>'
        f'<vms xmlns="urn:hvd:vm">{"".join(vms)}</vms></config>')


class Vms:
    """A VmControl stand-in recording stops."""

    def __init__(self, running=()):
        self.running = set(running)
        self.stopped = []

    def is_running(self, name):
        return name in self.running

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
