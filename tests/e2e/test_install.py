"""Issue 20, item 1: install a guest from an ISO (install-vm, list-isos, add-iso) on the sim.

What a user sees: the reply, get-config of running, the commit history, and the bhyve argv of
each boot (the supervisor's run.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.helpers import N, config, guest_exit, guest_ready, rpc, standin, vm_state, vm_xml
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.namespaces import HVD, VM


def _argv(root: Path, vm: str) -> list[str]:
    return list(json.loads((root / "vm" / vm / "state" / "run.json").read_text())["argv"])


def _install_iso(m: manager.Manager, vm: str) -> str | None:
    reply = m.get_config("running", filter=("subtree", f'<vms xmlns="{VM}"><vm><name>{vm}'
                                                      "</name></vm></vms>"))
    data = reply.data_ele
    return data.findtext(f".//{{{VM}}}install-iso")


def _history(m: manager.Manager) -> list[tuple[str, str, str]]:
    reply = rpc(m, f'<get-commit-history xmlns="{HVD}"/>')
    return [(c.findtext(f"{{{HVD}}}source") or "", c.findtext(f"{{{HVD}}}user") or "",
             c.findtext(f"{{{HVD}}}comment") or "")
            for c in reply.iter(f"{{{HVD}}}commit")]


def test_install_boots_the_iso_once_then_the_disk(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    isos = vmhvd.running.server.settings.iso_path
    isos.mkdir(parents=True)
    (isos / "FreeBSD-14.1-RELEASE-amd64-disc1.iso").write_bytes(b"\0" * 4096)
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G"})), target="running")
    standin(root, "web")

    out = rpc(m, f'<install-vm xmlns="{VM}"><name>web</name>'
                 "<iso>FreeBSD-14.1-RELEASE-amd64-disc1.iso</iso></install-vm>")
    iso = str(isos / "FreeBSD-14.1-RELEASE-amd64-disc1.iso")
    assert out.findtext(f"{{{VM}}}iso") == iso
    assert _install_iso(m, "web") == iso
    assert _history(m)[0][0] == "install-vm"
    guest_ready(root, "web")
    first = _argv(root, "web")
    # bhyve(8): the ISO as a read-only AHCI CD-ROM on slot 3, before the disk on slot 4
    assert first[first.index("3,ahci-cd," + iso + ",ro") - 1] == "-s"
    assert "4,virtio-blk,/dev/zvol/zroot/hv/vm/web/disks/d0" in first

    guest_exit(root, "web", 0)  # the installer reboots the guest
    guest_ready(root, "web", 2)
    wait_for(lambda: _install_iso(m, "web") is None, what="install-iso to be removed")
    second = _argv(root, "web")
    assert not any("ahci-cd" in word for word in second)
    assert "4,virtio-blk,/dev/zvol/zroot/hv/vm/web/disks/d0" in second
    source, user, comment = _history(m)[0]
    assert (source, user) == ("install-done", "server")
    assert "install-iso removed" in comment
    st = vm_state(m, "web")
    assert st["status"] == "running" and st["pending-restart"] == "false"


def test_a_missing_iso_changes_nothing(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G"})), target="running")
    before = _history(m)
    with pytest.raises(RPCError) as e:
        rpc(m, f'<install-vm xmlns="{VM}"><name>web</name><iso>/nowhere/x.iso</iso>'
               "</install-vm>")
    assert e.value.tag == "invalid-value"
    assert e.value.message == "/nowhere/x.iso: No such file or directory"
    assert _history(m) == before and _install_iso(m, "web") is None
    assert vm_state(m, "web")["status"] == "stopped"
    with pytest.raises(RPCError) as e:
        rpc(m, f'<install-vm xmlns="{VM}"><name>nope</name><iso>/etc/hostname</iso>'
               "</install-vm>")
    assert e.value.tag == "data-missing"


def test_add_and_list_isos(vmhvd: HvdInstance, tmp_path: Path) -> None:
    m = vmhvd.connect_uds()
    src = tmp_path / "debian-12.iso"
    src.write_bytes(b"x" * 3000)
    out = rpc(m, f'<add-iso xmlns="{VM}"><source>{src}</source></add-iso>')
    dest = vmhvd.running.server.settings.iso_path / "debian-12.iso"
    assert out.findtext(f"{{{VM}}}path") == str(dest) and dest.read_bytes() == src.read_bytes()
    listed = rpc(m, f'<list-isos xmlns="{VM}"/>')
    assert [(i.findtext("vm:name", namespaces=N), i.findtext("vm:size", namespaces=N))
            for i in listed.iter(f"{{{VM}}}iso")] == [("debian-12.iso", "3000")]
    with pytest.raises(RPCError) as e:
        rpc(m, f'<add-iso xmlns="{VM}"><source>{src}</source></add-iso>')
    assert e.value.tag == "data-exists"
    with pytest.raises(RPCError) as e:  # the sim says it does not download
        rpc(m, f'<add-iso xmlns="{VM}"><source>https://example.org/a.iso</source></add-iso>')
    assert "sim backend does not download" in e.value.message
