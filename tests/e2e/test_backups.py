"""Issue 19, backups over NETCONF on the sim: a full backup, then two incrementals from the
bookmarks of the previous ones (the source keeps no snapshot between backups), to a directory
of stream files and to a dataset; a restore as a new VM gives every disk back byte for byte;
verify-only finds a corrupted stream file; hvd never deletes what it did not make."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from e2e.helpers import (
    config,
    disk_content,
    rpc,
    standin,
    start_vm,
    vm_disk,
    vm_xml,
    write_disk,
)
from lxml import etree
from ncclient import manager
from ncclient.operations import RPCError
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host import zfs
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

VMX = {"vm": VM}
MIB = 1 << 20


def _same_disks(root: Path, a: str, b: str) -> None:
    for disk in ("d0", "d1"):
        assert disk_content(vm_disk(root, a, disk)) == disk_content(vm_disk(root, b, disk)), \
            disk


def _setup(m: manager.Manager, root: Path, backups: Path) -> None:
    targets = (f'<backup-targets xmlns="{VM}">'
               f"<backup-target><name>files</name><directory>{backups}</directory>"
               "</backup-target>"
               "<backup-target><name>pool2</name><dataset>zroot/backups</dataset>"
               "</backup-target>"
               "<backup-target><name>nas</name><ssh><host>nas.example</host><user>backup</user>"
               "<dataset>zroot/remote</dataset></ssh></backup-target></backup-targets>")
    SimHost(root).run(zfs.create_filesystem("zroot/backups", "operator"))
    # the sim has no second host: `ssh ... zfs ...` runs its zfs command on this one
    SimHost(root).run(zfs.create_filesystem("zroot/remote", "operator"))
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G", "d1": "2G"}))
                  .replace("</config>", targets + "</config>"), target="candidate")
    m.commit()


def _backup(m: manager.Manager, target: str) -> dict[str, str]:
    reply = rpc(m, f'<backup-vm xmlns="{VM}"><vm>web</vm><target>{target}</target>'
                   "</backup-vm>")
    return {etree.QName(c).localname: c.text or "" for c in reply
            if etree.QName(c).localname != "ok"}


def _vm_snapshots(root: Path) -> list[str]:
    st = SimHost(root).state()["datasets"]
    return [f"{d}@{s}" for d, rec in st.items() if d.startswith("zroot/hv/vm/web")
            for s in rec.get("snaps", {})]


@pytest.mark.parametrize("target", ["files", "pool2", "nas"])
def test_full_then_two_incrementals_restore_byte_identical(vmhvd: HvdInstance, tmp_path: Path,
                                                           target: str) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root, tmp_path / "backups")
    write_disk(root, "web", "d0", b"first" * 200000, 5 * MIB)
    write_disk(root, "web", "d1", b"one" * 1000, 1 << 30)
    first = _backup(m, target)
    assert "base" not in first and int(first["bytes"]) > 8000
    assert _vm_snapshots(root) == []  # bookmarks only between backups
    write_disk(root, "web", "d0", b"second", 7 * MIB)
    second = _backup(m, target)
    assert second["base"] == first["backup"] and int(second["bytes"]) < int(first["bytes"])
    write_disk(root, "web", "d1", b"third", 1 << 29)
    write_disk(root, "web", "d0", b"\0" * 5000, 5 * MIB)  # erased
    third = _backup(m, target)
    assert third["base"] == second["backup"]

    listed = rpc(m, f'<list-backups xmlns="{VM}"><target>{target}</target></list-backups>')
    rows = [(b.findtext("vm:name", namespaces=VMX), b.findtext("vm:base", namespaces=VMX))
            for b in listed.iterfind("vm:backup", VMX)]
    assert rows == [(first["backup"], None), (second["backup"], first["backup"]),
                    (third["backup"], second["backup"])]
    if target == "nas":  # every target-side command went through ssh(1)
        log = (root / ".sim" / "host.log").read_text()
        assert '["ssh", "-o", "BatchMode=yes", "-p", "22", "backup@nas.example", "zfs", ' \
            '"receive", "-s", "-u", "zroot/remote/web/d0"]' in log

    reply = rpc(m, f'<restore-vm xmlns="{VM}"><target>{target}</target><vm>web</vm>'
                   "<name>web-r</name></restore-vm>")
    assert reply.findtext("vm:backup", namespaces=VMX) == third["backup"]
    _same_disks(root, "web", "web-r")
    history = vmhvd.server.datastores.history.list()
    assert history[0].meta.source == "restore-vm"
    assert "web-r" in m.get_config("running").xml
    # the restored VM holds nothing untagged: it can be removed as any other
    m.edit_config(config(vms=vm_xml("web-r", op="delete")), target="running")
    assert not [d for d in SimHost(root).state()["datasets"] if "web-r" in d]


def test_backup_progress_is_notified(vmhvd: HvdInstance, tmp_path: Path) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root, tmp_path / "backups")
    write_disk(root, "web", "d0", b"p" * MIB, 0)
    listener = vmhvd.connect_uds()
    listener.create_subscription()
    first = _backup(m, "files")
    seen = []
    while len(seen) < 2:  # one per disk at its stream's end (small streams: no other)
        note = listener.take_notification(block=True, timeout=10)
        assert note is not None, f"no backup-progress after {seen}"
        ev = etree.fromstring(note.notification_xml.encode()).find(
            f"{{{VM}}}backup-progress")
        if ev is not None:
            seen.append({etree.QName(c).localname: c.text for c in ev})
    assert [x["disk"] for x in seen] == ["d0", "d1"] and {x["vm"] for x in seen} == {"web"}
    assert seen[0]["bytes"] == seen[0]["estimate"]
    assert sum(int(x["bytes"] or 0) for x in seen) == int(first["bytes"])


def test_verify_only_finds_a_corrupted_stream_and_writes_nothing(vmhvd: HvdInstance,
                                                                 tmp_path: Path) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    backups = tmp_path / "backups"
    _setup(m, root, backups)
    write_disk(root, "web", "d0", b"data" * 100000, 0)
    first = _backup(m, "files")
    write_disk(root, "web", "d0", b"more", 9 * MIB)
    second = _backup(m, "files")
    (backups / "web" / "notes.txt").write_text("the operator's\n")
    body = "<target>files</target><vm>web</vm><verify-only>true</verify-only>"
    reply = rpc(m, f'<restore-vm xmlns="{VM}">{body}</restore-vm>')
    assert len(reply.findall("vm:verified", VMX)) == 4  # two disks, two streams each
    before = SimHost(root).state()
    stream = backups / "web" / second["backup"] / "d0.zstream"
    data = bytearray(stream.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stream.write_bytes(bytes(data))
    with pytest.raises(RPCError) as exc:
        rpc(m, f'<restore-vm xmlns="{VM}">{body}</restore-vm>')
    assert "does not match its manifest's checksum" in str(exc.value.message)
    assert "d0.zstream" in str(exc.value.message)
    assert SimHost(root).state() == before and "web-r" not in m.get_config("running").xml
    # the older backup is whole, and restores
    rpc(m, f'<restore-vm xmlns="{VM}"><target>files</target><vm>web</vm>'
           f"<backup>{first['backup']}</backup><name>web-old</name></restore-vm>")
    with open(vm_disk(root, "web-old", "d0"), "rb") as f:
        assert f.read(8) == b"datadata"
    assert (backups / "web" / "notes.txt").read_text() == "the operator's\n"
    # a manifest is data: a path in it is never read (only names hvd checks make the path)
    forged = backups / "web" / f"{first['backup']}.json"
    manifest = json.loads(forged.read_text())
    manifest["backup"] = "../../../etc"
    forged.write_text(json.dumps(manifest))
    listed = rpc(m, f'<list-backups xmlns="{VM}"><target>files</target></list-backups>')
    assert [b.findtext("vm:name", namespaces=VMX) for b in listed.iterfind("vm:backup", VMX)
            ] == [second["backup"]]
    with pytest.raises(RPCError) as exc:  # the name is taken
        rpc(m, f'<restore-vm xmlns="{VM}"><target>files</target><vm>web</vm></restore-vm>')
    assert "a VM named 'web' is configured already" in str(exc.value.message)


def test_a_cut_stream_to_a_dataset_resumes_and_finishes(vmhvd: HvdInstance,
                                                         tmp_path: Path) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root, tmp_path / "backups")
    for i in range(4):
        write_disk(root, "web", "d0", bytes([70 + i]) * MIB, i * 16 * MIB)
    SimHost(root).cut_stream(("zfs", "send", "-L"), after=2 * MIB + 1000)  # not -n -P
    first = _backup(m, "pool2")
    log = (root / ".sim" / "host.log").read_text()
    # the sim logged the cut receive's kept state, then a receive that resumed it
    assert '"partial": "1-' in log and '"resumed": true' in log
    state = SimHost(root).state()["datasets"]["zroot/backups/web/d0"]
    assert "receive_resume_token" not in state["props"]
    assert list(state["snaps"]) == [first["backup"]]
    rpc(m, f'<restore-vm xmlns="{VM}"><target>pool2</target><vm>web</vm>'
           "<name>web-r</name></restore-vm>")
    _same_disks(root, "web", "web-r")


def _jobs(m: manager.Manager) -> list[dict[str, str]]:
    reply = m.get(filter=("subtree", f'<backup-jobs xmlns="{VM}"/>'))
    return [{etree.QName(c).localname: c.text or "" for c in j}
            for j in etree.fromstring(reply.xml.encode()).iter(f"{{{VM}}}job")]


def test_a_backup_in_progress_shows_in_state_and_can_be_cancelled(
        vmhvd: HvdInstance, tmp_path: Path) -> None:
    """The job is in /backup-jobs with its disk and bytes while its stream moves (it holds
    no datastore lock); cancel-backup from another session stops it at
    the next chunk, the RPC fails saying so, and nothing of it is left: no partial receive,
    no snapshot; the next backup is a full one and succeeds."""
    root = vmhvd.root
    m, other = vmhvd.connect_uds(), vmhvd.connect_uds()
    _setup(m, root, tmp_path / "backups")
    write_disk(root, "web", "d0", os.urandom(6 * MIB), 0)
    SimHost(root).inject_fault(("zfs", "receive"), "", delay=0.3)  # a slow link
    failure: list[BaseException] = []

    def backup() -> None:
        try:
            _backup(m, "pool2")
        except BaseException as e:
            failure.append(e)

    worker = threading.Thread(target=backup)
    worker.start()
    wait_for(lambda: any(int(j.get("bytes") or 0) > 0 for j in _jobs(other)),
             what="the job's first bytes")
    job = _jobs(other)[0]
    assert (job["vm"], job["operation"], job["target"], job["disk"]) == (
        "web", "backup", "pool2", "d0") and int(job["estimate"]) >= 6 * MIB
    assert "web" in other.get_config("running").xml  # the datastore lock is not held
    reply = rpc(other, f'<cancel-backup xmlns="{VM}"><vm>web</vm></cancel-backup>')
    assert reply.findtext("vm:job", namespaces=VMX) == job["id"]
    worker.join(30)
    assert not worker.is_alive() and len(failure) == 1
    assert isinstance(failure[0], RPCError)
    assert f"the backup of VM web was cancelled by session {other.session_id}" in str(
        failure[0].message)
    assert _jobs(other) == [] and _vm_snapshots(root) == []
    sim = SimHost(root)
    assert "zroot/backups/web/d0" not in sim.state()["datasets"]  # the partial receive went
    with pytest.raises(RPCError) as e:
        rpc(other, f'<cancel-backup xmlns="{VM}"><vm>web</vm></cancel-backup>')
    assert e.value.message == "VM web has no backup or restore under way"
    again = _backup(m, "pool2")
    assert "base" not in again and int(again["bytes"]) >= 6 * MIB


@pytest.mark.parametrize("target", ["files", "pool2"])
def test_restore_over_the_stopped_vm(vmhvd: HvdInstance, tmp_path: Path, target: str) -> None:
    """restore-vm replace: the VM's disks and configuration become the backup's, by one
    commit; the reply names what was destroyed; a running VM is refused, and a failed stream
    leaves the VM exactly as it was."""
    root = vmhvd.root
    m = vmhvd.connect_uds()
    _setup(m, root, tmp_path / "backups")
    write_disk(root, "web", "d0", b"backed up", 5 * MIB)
    backup = _backup(m, target)["backup"]
    write_disk(root, "web", "d0", b"written later", 5 * MIB)
    rpc(m, f'<snapshot-vm xmlns="{VM}"><vm>web</vm><name>later</name></snapshot-vm>')
    m.edit_config(config(vms=vm_xml("web", extra="<cpu>2</cpu>")), target="running")
    sim = SimHost(root)
    after = disk_content(vm_disk(root, "web", "d0"))
    sim.inject_fault(("zfs", "receive"), "cannot receive: failed to read from stream\n")
    restore = (f'<restore-vm xmlns="{VM}"><target>{target}</target><vm>web</vm>'
               "<replace>true</replace></restore-vm>")
    if target == "files":  # a stream file into a receive: the receive fails
        with pytest.raises(RPCError) as e:
            rpc(m, restore)
        assert "failed to read from stream" in str(e.value.message)
        assert disk_content(vm_disk(root, "web", "d0")) == after  # untouched
        assert not [d for d in sim.state()["datasets"] if d.endswith("-hvd-restore")]
    else:
        sim.clear_faults()
    commits = len(vmhvd.server.datastores.history.list())
    reply = rpc(m, restore)
    assert reply.findtext("vm:backup", namespaces=VMX) == backup
    assert [r.text for r in reply.iterfind("vm:replaced", VMX)] == [
        "d0 (and 1 snapshot of it)", "d1 (and 1 snapshot of it)"]
    assert len(vmhvd.server.datastores.history.list()) == commits + 1
    assert vmhvd.server.datastores.history.list()[0].meta.source == "restore-vm"
    with open(vm_disk(root, "web", "d0"), "rb") as f:
        f.seek(5 * MIB)
        assert f.read(13) == b"backed up\0\0\0\0"
    assert "<cpu>2</cpu>" not in m.get_config("running").xml  # the backup's configuration
    assert sorted(sim.state()["datasets"]["zroot/hv/vm/web/disks/d0"].get("snaps", {})) == []
    with pytest.raises(RPCError) as e:
        rpc(m, restore.replace("<replace>", "<name>other</name><replace>"))
    assert e.value.message == "replace restores over the VM the backup is of: give no new name"
    standin(root, "web")
    start_vm(m, "web")
    with pytest.raises(RPCError) as e:
        rpc(m, restore)
    assert e.value.message == "VM web is running: stop it first (a restore replaces its disks)"
