"""The :startup datastore (RFC 6241 §8.7) over the wire: copy-config to and from it,
delete-config, get-config and lock; durable under the root; booting from it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance, start_hvd

from hvd_netconf.namespaces import BASE, NC_NOTIFICATIONS, VM
from hvd_netconf.ops.startup import CAP_STARTUP

VMS = {"v": VM, "nc": BASE}
NCN = {"ncn": NC_NOTIFICATIONS}


def vm_cfg(name: str) -> str:
    return (f'<config xmlns="{BASE}"><vms xmlns="{VM}"><vm><name>{name}</name></vm></vms>'
            "</config>")


def names(m: Any, source: str) -> list[str]:
    data = etree.fromstring(m.get_config(source).xml.encode())
    return data.xpath("//v:vm/v:name/text()", namespaces=VMS)


def test_copy_running_to_startup_and_back(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    listener = hvd.connect_uds()
    listener.create_subscription()
    assert CAP_STARTUP in m.server_capabilities
    assert names(m, "startup") == []  # never saved: empty
    m.edit_config(vm_cfg("web"), target="running")
    m.copy_config(source="running", target="startup")
    saved = hvd.root / ".hvd" / "startup.xml"
    assert b"<name>web</name>" in saved.read_bytes()
    assert names(m, "startup") == ["web"]
    m.edit_config(vm_cfg("db"), target="running")
    assert names(m, "startup") == ["web"]  # running alone does not change startup
    m.copy_config(source="startup", target="running")
    assert names(m, "running") == ["web"]
    m.delete_config("startup")
    assert not saved.exists() and names(m, "startup") == []
    seen = []
    while len(seen) < 2:
        n = listener.take_notification(block=True, timeout=10)
        assert n is not None, seen
        ev = etree.fromstring(n.notification_xml.encode())
        if ev.findtext(".//ncn:datastore", namespaces=NCN) == "startup":
            seen.append([(e.findtext("ncn:target", namespaces=NCN),
                          e.findtext("ncn:operation", namespaces=NCN))
                         for e in ev.iterfind(".//ncn:edit", namespaces=NCN)])
    web = "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']"
    # saved (the copy back to running changes running only), then deleted
    assert seen == [[(web, "create")], [(web, "delete")]]


def test_startup_lock_and_invalid_copy(hvd: HvdInstance) -> None:
    a, b = hvd.connect_uds(), hvd.connect_ssh()
    a.edit_config(vm_cfg("web"), target="running")
    a.lock("startup")
    with pytest.raises(RPCError) as ei:
        b.copy_config(source="running", target="startup")
    assert ei.value.tag == "lock-denied"
    with pytest.raises(RPCError) as ei:
        b.delete_config("startup")
    assert ei.value.tag == "lock-denied"
    a.copy_config(source="running", target="startup")
    a.unlock("startup")
    before = (hvd.root / ".hvd" / "startup.xml").read_bytes()
    # a config that fails validation (a NIC on a network that does not exist) leaves
    # startup as it was
    bad = (f'<copy-config xmlns="{BASE}"><target><startup/></target><source><config>'
           f'<vms xmlns="{VM}"><vm><name>x</name><nic><name>n0</name><network>nope</network>'
           "</nic></vm></vms></config></source></copy-config>")
    with pytest.raises(RPCError) as ei:
        b.dispatch(etree.fromstring(bad))
    assert ei.value.tag == "data-missing" or "nope" in ei.value.message
    assert (hvd.root / ".hvd" / "startup.xml").read_bytes() == before


def test_boot_from_startup(hvd_factory: Callable[..., HvdInstance]) -> None:
    """With boot-from = startup, a restarted hvd's running is the saved startup: the edit
    made after the copy is gone."""
    first = hvd_factory(boot_from="startup")
    m = first.connect_uds()
    m.edit_config(vm_cfg("saved"), target="running")
    m.copy_config(source="running", target="startup")
    m.edit_config(vm_cfg("unsaved"), target="running")
    root = first.root
    first.stop()
    again = start_hvd(root.parent, boot_from="startup")
    try:
        assert names(again.connect_uds(), "running") == ["saved"]
    finally:
        again.stop()
