"""Builders for store tests: entries as the edit layer would hand them over."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from hvd_netconf.namespaces import NETWORK, VM
from hvd_netconf.store import Datastore, Datastores


def _leaves(parent: etree._Element, ns: str, items: dict[str, object]) -> None:
    for name, value in items.items():
        if isinstance(value, dict):
            _leaves(etree.SubElement(parent, f"{{{ns}}}{name}"), ns, value)
        elif isinstance(value, list):
            for item in value:
                _leaves(etree.SubElement(parent, f"{{{ns}}}{name}"), ns, item)
        else:
            etree.SubElement(parent, f"{{{ns}}}{name}").text = str(value)


def make_vm(name: str, **leaves: object) -> etree._Element:
    el = etree.Element(f"{{{VM}}}vm", nsmap={None: VM})
    _leaves(el, VM, {"name": name, **leaves})
    return el


def make_net(name: str, **leaves: object) -> etree._Element:
    el = etree.Element(f"{{{NETWORK}}}network", nsmap={None: NETWORK})
    _leaves(el, NETWORK, {"name": name, **leaves})
    return el


def full_vm(name: str) -> etree._Element:
    """A VM with every configurable leaf of hvd-vm set, two disks and two NICs."""
    return make_vm(
        name,
        description="web <front> & \"edge\" — ünïcødé",
        cpu=4, memory=2048, **{"boot-device": "boot"},
        uuid="0f0e0d0c-0b0a-0908-0706-050403020100",
        loader={"type": "uefi", "uefi-vars": "false"},
        **{"install-iso": "/iso/FreeBSD-14.1-RELEASE-amd64-disc1.iso"},
        console="nmdm", **{"utc-clock": "true"},
        autostart={"enabled": "true", "order": 10, "delay": 5},
        **{"on-reboot": "restart", "on-poweroff": "stop", "on-crash": "restart",
           "stop-timeout": 60},
        disk=[{"name": "boot", "size": "20G", "emulation": "nvme", "sparse": "false",
               "volblocksize": "16K", "compression": "zstd", "sectorsize": "4096"},
              {"name": "data", "size": "100G", "emulation": "virtio-blk", "sparse": "true",
               "volblocksize": "128K", "compression": "lz4", "sectorsize": "512"}],
        nic=[{"name": "nic0", "network": "lan", "mac": "58:9c:fc:00:00:01",
              "emulation": "virtio-net"},
             {"name": "nic1", "network": "lan", "mac": "02:00:00:00:00:01",
              "emulation": "e1000"}],
    )


def c14n(el: etree._Element | None) -> bytes | None:
    """Canonical bytes of an entry; copied first, as libxml2's c14n of a subtree deep in a
    document renders inherited default namespaces as xmlns=""."""
    return None if el is None else etree.tostring(copy.deepcopy(el), method="c14n")


def snapshot(ds: Datastore) -> dict[tuple[str, str], bytes]:
    """The datastore's entries in a comparable form."""
    return {key: etree.tostring(copy.deepcopy(el), method="c14n") for key, el in ds.items()}


@pytest.fixture
def open_store(tmp_path: Path) -> Callable[..., Datastores]:
    """Open (or reopen) the store under tmp_path/hv; fsync off unless asked for."""
    def opener(**kw: object) -> Datastores:
        kw.setdefault("fsync", False)
        return Datastores(str(tmp_path / "hv"), **kw)  # type: ignore[arg-type]
    return opener


@pytest.fixture
def kit() -> object:
    """The builders above, for test modules (conftest is not importable by name)."""
    import types

    return types.SimpleNamespace(make_vm=make_vm, make_net=make_net, full_vm=full_vm,
                                 c14n=c14n, snapshot=snapshot)
