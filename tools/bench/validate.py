#!/usr/bin/env python3
"""Validation cost on large datastores: whole tree, one changed VM (scope), pyangbind path,
and the host constraints of many networks with addresses (their clashes, issue 24).

Each VM has 2 disks and 2 NICs on a few networks, like a busy host; figures are best of runs.
    .venv/bin/python tools/bench/validate.py [--bindings]
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hvd_netconf import namespaces as ns
from hvd_netconf.edit.diff import entries
from hvd_netconf.host import constraints
from hvd_netconf.schema import load_schema
from hvd_netconf.schema.validate import validate

NETWORKS = ("lan", "dmz", "storage", "mgmt")


def datastore(n_vms: int) -> etree._Element:
    """A <config> with n_vms VMs (2 disks, 2 NICs each, one NIC with a MAC) and 4 networks."""
    cfg = etree.Element(ns.qn(ns.BASE, "config"), nsmap={None: ns.BASE})
    nets = etree.SubElement(cfg, ns.qn(ns.NETWORK, "networks"), nsmap={None: ns.NETWORK})
    for i, name in enumerate(NETWORKS):
        net = etree.SubElement(nets, ns.qn(ns.NETWORK, "network"))
        etree.SubElement(net, ns.qn(ns.NETWORK, "name")).text = name
        etree.SubElement(net, ns.qn(ns.NETWORK, "physical-interface")).text = "igb0"
        etree.SubElement(net, ns.qn(ns.NETWORK, "vlan")).text = str(10 + i)
    vms = etree.SubElement(cfg, ns.qn(ns.VM, "vms"), nsmap={None: ns.VM})

    def leaf(parent: etree._Element, name: str, text: str) -> None:
        etree.SubElement(parent, ns.qn(ns.VM, name)).text = text

    for i in range(n_vms):
        vm = etree.SubElement(vms, ns.qn(ns.VM, "vm"))
        leaf(vm, "name", f"vm{i:05d}")
        leaf(vm, "cpu", str(1 + i % 8))
        leaf(vm, "memory", str(512 * (1 + i % 4)))
        leaf(vm, "boot-device", "root")
        loader = etree.SubElement(vm, ns.qn(ns.VM, "loader"))
        leaf(loader, "type", "uefi")
        for d, size in (("root", "20G"), ("data", "100G")):
            disk = etree.SubElement(vm, ns.qn(ns.VM, "disk"))
            leaf(disk, "name", d)
            leaf(disk, "size", size)
        for k in range(2):
            nic = etree.SubElement(vm, ns.qn(ns.VM, "nic"))
            leaf(nic, "name", f"nic{k}")
            leaf(nic, "network", NETWORKS[(i + k) % len(NETWORKS)])
            if k == 0:
                leaf(nic, "mac", f"58:9c:fc:0{i >> 16 & 0xf:x}:{i >> 8 & 0xff:02x}:{i & 0xff:02x}")
    return cfg


def addressed_networks(n: int) -> etree._Element:
    """A <config> of n networks, each with an IPv4 /24 and an IPv6 /64 address of its own."""
    body = "".join(f"<network><name>n{i}</name><address>10.{i // 256}.{i % 256}.1/24</address>"
                   f"<address>fd00:{i:x}::1/64</address></network>" for i in range(n))
    return etree.fromstring(f'<config xmlns="{ns.BASE}"><networks xmlns="{ns.NETWORK}">{body}'
                            "</networks></config>")


def best(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2-core machine)")
    schema = load_schema()
    for n in (1_000, 10_000):
        cfg = datastore(n)
        errs = validate(schema, cfg)
        assert not errs, errs[:3]
        t = best(lambda c=cfg: validate(schema, c))
        print(f"full validation, {n:>6} VMs: {t * 1e3:8.1f} ms")
    big = datastore(10_000)
    index = {("vm", e.findtext(ns.qn(ns.VM, "name"))): e
             for e in big.find(ns.qn(ns.VM, "vms"))}
    one = [("vm", "vm04242")]
    for label, kw in (("lookup", {"lookup": index.get}), ("xpath", {})):
        t = best(lambda kw=kw: validate(schema, big, scope=one, **kw), runs=20)
        print(f"one changed VM in 10000 (scope, {label:6}): {t * 1e3:8.3f} ms")
    small = datastore(100)
    sidx = {("vm", e.findtext(ns.qn(ns.VM, "name"))): e for e in small.find(ns.qn(ns.VM, "vms"))}
    t = best(lambda: validate(schema, small, scope=[("vm", "vm00042")], lookup=sidx.get), runs=20)
    print(f"one changed VM in   100 (scope, lookup): {t * 1e3:8.3f} ms")
    nets = big.find(ns.qn(ns.NETWORK, "networks"))
    dmz = nets[1]
    nets.remove(dmz)
    t0 = time.perf_counter()
    errs = validate(schema, big, scope=[("network", "dmz")], lookup=index.get)
    t = time.perf_counter() - t0
    print(f"deleted network still used by {len(errs)} NICs in 10000 VMs (scope): {t * 1e3:8.1f} ms")
    nets.insert(1, dmz)
    for n in (100, 1_000):
        cfg = addressed_networks(n)
        get = entries(cfg).get
        assert not constraints.check(None, cfg, None, get, lambda k: None)
        t = best(lambda c=cfg, g=get: constraints.check(None, c, None, g, lambda k: None))
        print(f"host constraints, {n:>5} networks with 2 addresses each (whole): "
              f"{t * 1e3:8.1f} ms")
        t = best(lambda c=cfg, g=get: constraints.check(None, c, [("network", "n7")], g,
                                                          lambda k: None), runs=5)
        print(f"host constraints, one changed network in {n:>5}: {t * 1e3:8.1f} ms")
    if "--bindings" not in sys.argv:
        return
    # pyangbind is an independent cross-check, not hvd's validator; it is slow (~85 s for
    # 1,000 VMs on this machine), hence only on request.
    from hvd_netconf.schema.bindings_check import load_bindings

    cfg = datastore(100)
    t = best(lambda: load_bindings(cfg), runs=1)
    print(f"pyangbind load + type checks, 100 VMs: {t * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
