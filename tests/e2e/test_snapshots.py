"""Issue 19 (first part): VM snapshots over NETCONF on the sim. Known bytes on a VM's two
disks (the sim's sparse zvol stand-in files) come back after a rollback; newer snapshots are
destroyed only when asked; a snapshot hvd did not make is listed and never touched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e.helpers import config, guest_ready, rpc, standin, start_vm, vm_xml
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

VMX = {"vm": VM}
DS = "zroot/hv/vm/web"
MIB = 1 << 20


def _commit_web(m: manager.Manager) -> None:
    m.edit_config(target="candidate",
                  config=config(vms=vm_xml("web", disks={"disk0": "1G", "disk1": "2G"})))
    m.commit()


def _disk(root: Path, disk: str) -> Path:
    return SimHost(root).zvol_file(f"{DS}/disks/{disk}")


def _write(root: Path, disk: str, data: bytes, at: int = 5 * MIB) -> None:
    with open(_disk(root, disk), "r+b") as f:
        f.seek(at)
        f.write(data)


def _read(root: Path, disk: str, n: int, at: int = 5 * MIB) -> bytes:
    with open(_disk(root, disk), "rb") as f:
        f.seek(at)
        return f.read(n)


def _call(m: manager.Manager, op: str, body: str) -> etree._Element:
    return rpc(m, f'<{op} xmlns="{VM}"><vm>web</vm>{body}</{op}>')


def _snapshots(m: manager.Manager) -> dict[str, dict[str, str]]:
    reply = m.get(filter=("subtree", f'<snapshots xmlns="{VM}"/>'))
    data = etree.fromstring(reply.xml.encode())
    return {s.findtext("vm:name", namespaces=VMX) or "":
            {etree.QName(c).localname: c.text or "" for c in s}
            for s in data.iterfind(".//vm:snapshot", VMX)}


def _error(excinfo: pytest.ExceptionInfo[RPCError]) -> str:
    return str(excinfo.value.message)


def test_rollback_restores_both_disks(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    _write(vmhvd.root, "disk0", b"zero-before")
    _write(vmhvd.root, "disk1", b"one-before", at=1 << 30)
    reply = _call(m, "snapshot-vm", "<name>base</name><description>clean install</description>")
    assert reply.findtext("vm:name", namespaces=VMX) == "base"
    assert reply.findtext("vm:commit-id", namespaces=VMX) == "1"
    _write(vmhvd.root, "disk0", b"zero-after!")
    _write(vmhvd.root, "disk1", b"one-after!", at=1 << 30)

    listed = _snapshots(m)["base"]
    assert listed["vm"] == "web" and listed["hvd-made"] == "true"
    assert listed["description"] == "clean install" and listed["commit-id"] == "1"
    assert 0 < int(listed["referenced"]) < 2 * MIB  # sparse copies, not 3 GiB
    reply = _call(m, "rollback-vm", "<name>base</name>")
    assert reply.findall("vm:rolled-back", VMX)[0].text == f"{DS}/disks/disk0"
    assert [e.text for e in reply.findall("vm:rolled-back", VMX)] == [
        f"{DS}/disks/disk0", f"{DS}/disks/disk1"]
    assert reply.findtext("vm:config-may-differ", namespaces=VMX) == "false"
    assert _read(vmhvd.root, "disk0", 11) == b"zero-before"
    assert _read(vmhvd.root, "disk1", 10, at=1 << 30) == b"one-before"
    assert _disk(vmhvd.root, "disk1").stat().st_blocks * 512 < 2 * MIB  # still sparse


def test_rollback_past_newer_needs_destroy_newer(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    _write(vmhvd.root, "disk0", b"AAAA")
    _call(m, "snapshot-vm", "<name>a</name>")
    _write(vmhvd.root, "disk0", b"BBBB")
    _call(m, "snapshot-vm", "<name>b</name>")
    _write(vmhvd.root, "disk0", b"CCCC")
    with pytest.raises(RPCError) as exc:
        _call(m, "rollback-vm", "<name>a</name>")
    assert "newer snapshots exist and would be destroyed: b" in _error(exc)
    assert _read(vmhvd.root, "disk0", 4) == b"CCCC" and set(_snapshots(m)) == {"a", "b"}
    reply = _call(m, "rollback-vm", "<name>a</name><destroy-newer>true</destroy-newer>")
    assert [e.text for e in reply.findall("vm:destroyed", VMX)] == ["b"]
    assert _read(vmhvd.root, "disk0", 4) == b"AAAA" and set(_snapshots(m)) == {"a"}


def test_running_vm_snapshot_and_rollback_needs_stop(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    start_vm(m, "web")
    reply = _call(m, "snapshot-vm", "")
    name = reply.findtext("vm:name", namespaces=VMX) or ""
    assert name.startswith("hvd-") and name.endswith("Z")
    assert reply.findtext("vm:vm-was-running", namespaces=VMX) == "true"
    with pytest.raises(RPCError) as exc:
        _call(m, "rollback-vm", f"<name>{name}</name>")
    assert "VM web is running" in _error(exc)
    reply = _call(m, "rollback-vm", f"<name>{name}</name><stop>true</stop>")
    assert reply.findtext("vm:stopped", namespaces=VMX) == "true"
    assert "left stopped" in (reply.findtext("vm:message", namespaces=VMX) or "")


def test_config_changed_since_snapshot_is_named(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    _call(m, "snapshot-vm", "<name>s1</name>")
    m.edit_config(target="candidate", config=config(vms=vm_xml("web", extra="<cpu>2</cpu>")))
    m.commit()
    reply = _call(m, "rollback-vm", "<name>s1</name>")
    assert reply.findtext("vm:config-may-differ", namespaces=VMX) == "true"
    assert "`hv rollback 1`" in (reply.findtext("vm:message", namespaces=VMX) or "")
    running = m.get_config("running", filter=("subtree", f'<vms xmlns="{VM}"/>')).xml
    assert "<cpu>2</cpu>" in running  # the configuration is left to the commit path


def test_hand_made_snapshot_is_listed_never_deleted(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    SimHost(vmhvd.root).run(["zfs", "snapshot", "-r", f"{DS}@manual"])
    listed = _snapshots(m)["manual"]
    assert listed["hvd-made"] == "false" and "commit-id" not in listed
    for op in ("delete-snapshot", "rollback-vm"):
        with pytest.raises(RPCError) as exc:
            _call(m, op, "<name>manual</name>")
        assert f"snapshot {DS}@manual of VM web was not made by hvd" in _error(exc)
    assert "manual" in _snapshots(m)
    _call(m, "snapshot-vm", "<name>mine</name>")
    reply = _call(m, "delete-snapshot", "<name>mine</name>")
    assert f"{DS}/disks/disk1@mine" in [e.text for e in reply.findall("vm:destroyed", VMX)]
    assert set(_snapshots(m)) == {"manual"}
    with pytest.raises(RPCError) as exc:
        _call(m, "delete-snapshot", "<name>mine</name>")
    assert "VM web has no snapshot named 'mine'" in _error(exc)


def test_newer_hand_made_snapshot_blocks_rollback(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    _call(m, "snapshot-vm", "<name>mine</name>")
    SimHost(vmhvd.root).run(["zfs", "snapshot", f"{DS}/disks/disk0@manual"])
    with pytest.raises(RPCError) as exc:
        _call(m, "rollback-vm", "<name>mine</name><destroy-newer>true</destroy-newer>")
    assert f"{DS}/disks/disk0@manual were not made by hvd" in _error(exc)


def _refused_while_hand_made_then_done(vmhvd: HvdInstance, m: Any, change: str) -> SimHost:
    """With hvd's snapshot `mine` and a hand-made one on disk1, `change` is refused naming
    the hand-made one; once the operator destroys it, the same change commits."""
    _call(m, "snapshot-vm", "<name>mine</name>")
    sim = SimHost(vmhvd.root)
    sim.run(["zfs", "snapshot", f"{DS}/disks/disk1@manual"])
    m.edit_config(target="candidate", config=change)
    with pytest.raises(RPCError) as exc:
        m.commit()
    assert f"hvd did not create {DS}/disks/disk1@manual" in _error(exc)
    m.discard_changes()
    sim.run(["zfs", "destroy", f"{DS}/disks/disk1@manual"])
    m.edit_config(target="candidate", config=change)
    m.commit()
    return sim


def test_destroying_a_vm_takes_hvds_snapshots_but_not_a_hand_made_one(vmhvd: HvdInstance
                                                                      ) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    sim = _refused_while_hand_made_then_done(vmhvd, m, config(vms=vm_xml("web", op="delete")))
    assert DS not in sim.state()["datasets"] and _snapshots(m) == {}
    assert not sim.zvol_file(f"{DS}/disks/disk0@mine").exists()


def test_removing_a_disk_takes_its_hvd_snapshots(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    _commit_web(m)
    drop = config(vms=vm_xml("web", extra='<disk xc:operation="delete"><name>disk1</name></disk>'))
    sim = _refused_while_hand_made_then_done(vmhvd, m, drop)
    assert f"{DS}/disks/disk1" not in sim.state()["datasets"]
    assert not sim.zvol_file(f"{DS}/disks/disk1@mine").exists()
    assert "mine" in _snapshots(m)  # the VM's snapshot stays, with its other disk


def _bhyve_log(root: Path) -> str:
    return (root / "vm" / "web" / "state" / "bhyve.log").read_text()


def test_a_running_vm_with_a_guest_agent_is_frozen_for_its_snapshot(vmhvd: HvdInstance) -> None:
    """guest-agent gives bhyve a virtio-console port for qemu-guest-agent; snapshot-vm of the
    running VM freezes its file systems through it, snapshots, thaws, and says so; without an
    answer from the agent the snapshot is crash-consistent and note says why."""
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(target="running", config=config(vms=vm_xml(
        "web", disks={"disk0": "1G"}, extra="<guest-agent>true</guest-agent>")))
    standin(root, "web")
    start_vm(m, "web")
    guest_ready(root, "web")
    argv = json.loads((root / "vm/web/state/run.json").read_text())["argv"]
    assert f"2,virtio-console,org.qemu.guest_agent.0={root}/vm/web/qga.sock" in argv
    reply = _call(m, "snapshot-vm", "<name>app</name>")
    assert reply.findtext("vm:consistency", namespaces=VMX) == "application"
    assert int(reply.findtext("vm:frozen-ms", namespaces=VMX) or "-1") >= 0
    assert reply.find("vm:note", VMX) is None
    log = _bhyve_log(root)
    assert log.index("file systems frozen") < log.index("file systems thawed")
    assert "app" in _snapshots(m)
    reply = _call(m, "snapshot-vm", "<name>plain</name><quiesce>false</quiesce>")
    assert reply.findtext("vm:consistency", namespaces=VMX) == "crash"
    assert _bhyve_log(root).count("file systems frozen") == 1
    standin(root, "web", agent=False)  # the guest has no agent: nobody answers on the port
    reply = _call(m, "snapshot-vm", "<name>noagent</name>")
    assert reply.findtext("vm:consistency", namespaces=VMX) == "crash"
    assert reply.findtext("vm:note", namespaces=VMX) == (
        "crash-consistent: no answer from the guest agent within 2 s")
    assert set(_snapshots(m)) >= {"app", "plain", "noagent"}
