"""Issue 19, clones over NETCONF on the sim: a linked and a full clone run beside their origin
with their own SMBIOS UUID and MACs and the origin's bytes; the origin snapshot of a linked
clone cannot be deleted (zfs's refusal names the clone); the clone is one commit in the
history, and a copy that fails leaves neither the VM nor its datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.helpers import config, network_xml, rpc, start_vm, vm_disk, vm_xml, write_disk
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

VMX = {"vm": VM}
MIB = 1 << 20


def _read(root: Path, vm: str, disk: str, n: int, at: int) -> bytes:
    with open(vm_disk(root, vm, disk), "rb") as f:
        f.seek(at)
        return f.read(n)


def _launch(root: Path, vm: str) -> list[str]:
    argv: list[str] = json.loads((root / "vm" / vm / "state" / "run.json").read_text())["argv"]
    return argv


def _clone(m: manager.Manager, body: str) -> etree._Element:
    return rpc(m, f'<clone-vm xmlns="{VM}"><vm>web</vm>{body}</clone-vm>')


def _setup(m: manager.Manager, root: Path) -> None:
    m.edit_config(config(networks=network_xml("lan"),
                         vms=vm_xml("web", disks={"disk0": "1G", "disk1": "2G"},
                                    nics={"nic0": "lan"})), target="candidate")
    m.commit()
    write_disk(root, "web", "disk0", b"zero-origin", 5 * MIB)
    write_disk(root, "web", "disk1", b"one-origin", 1 << 30)


def test_linked_and_full_clones_run_beside_the_origin(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root)
    start_vm(m, "web")
    reply = _clone(m, "<name>web2</name>")
    assert reply.findtext("vm:snapshot", namespaces=VMX) == "zroot/hv/vm/web@hvd-clone-web2"
    assert reply.findtext("vm:linked", namespaces=VMX) == "true"
    assert [e.text for e in reply.findall("vm:disks", VMX)] == [
        "zroot/hv/vm/web2/disks/disk0", "zroot/hv/vm/web2/disks/disk1"]
    rpc(m, f'<snapshot-vm xmlns="{VM}"><vm>web</vm><name>base</name></snapshot-vm>')
    write_disk(root, "web", "disk0", b"zero-LATER!", 5 * MIB)  # after the snapshot: not copied
    reply = _clone(m, "<name>web3</name><snapshot>base</snapshot><linked>false</linked>")
    assert int(reply.findtext("vm:bytes", namespaces=VMX) or 0) > 0

    for vm in ("web2", "web3"):
        assert _read(root, vm, "disk0", 11, 5 * MIB) == b"zero-origin"
        assert _read(root, vm, "disk1", 10, 1 << 30) == b"one-origin"
        assert vm_disk(root, vm, "disk1").stat().st_blocks * 512 < 2 * MIB  # still sparse
        start_vm(m, vm)
    launches = {vm: _launch(root, vm) for vm in ("web", "web2", "web3")}
    uuids = {vm: argv[argv.index("-U") + 1] for vm, argv in launches.items()}
    macs = {vm: next(a for a in argv if "mac=" in a).split("mac=")[1]
            for vm, argv in launches.items()}
    assert len(set(uuids.values())) == 3 and len(set(macs.values())) == 3

    state = SimHost(root).state()["datasets"]
    assert state["zroot/hv/vm/web2/disks/disk0"]["origin"] == (
        "zroot/hv/vm/web/disks/disk0@hvd-clone-web2")
    assert "origin" not in state["zroot/hv/vm/web3/disks/disk0"]
    assert not state["zroot/hv/vm/web3/disks/disk0"].get("snaps")  # nothing untagged left
    history = [(r.meta.source, r.meta.comment) for r in vmhvd.server.datastores.history.list()]
    assert ("clone-vm", "linked clone of web@hvd-clone-web2") in history
    assert ("clone-vm", "full clone of web@base") in history

    with pytest.raises(RPCError) as exc:
        rpc(m, f'<delete-snapshot xmlns="{VM}"><vm>web</vm><name>hvd-clone-web2</name>'
               "</delete-snapshot>")
    assert "snapshot has dependent clones" in str(exc.value.message)
    assert "zroot/hv/vm/web2/disks/disk0" in str(exc.value.message)


def test_refusals_and_a_failed_copy_leaves_nothing(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root)
    with pytest.raises(RPCError) as exc:
        _clone(m, "<name>web</name>")
    assert "a VM named 'web' is configured already" in str(exc.value.message)
    with pytest.raises(RPCError) as exc:
        _clone(m, "<name>web2</name><snapshot>nope</snapshot>")
    assert "VM web has no snapshot named 'nope'" in str(exc.value.message)
    commits = len(vmhvd.server.datastores.history.list())
    SimHost(root).inject_fault(("zfs", "send"), "warning: cannot send: I/O error")
    with pytest.raises(RPCError) as exc:
        _clone(m, "<name>web2</name><linked>false</linked>")
    assert "I/O error" in str(exc.value.message)
    assert "web2" not in m.get_config("running").xml
    sources = [r.meta.source for r in vmhvd.server.datastores.history.list()]
    assert len(sources) == commits + 2 and sources[:2] == ["clone-vm", "clone-vm"]
    state = SimHost(root).state()["datasets"]
    assert not [d for d in state if "web2" in d]
    assert "hvd-clone-web2" not in state["zroot/hv/vm/web"].get("snaps", {})
