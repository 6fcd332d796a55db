"""Issue 19 item 5, file disks, over NETCONF on the sim: a sparse image file hvd creates in the
VM's disks dataset, handed to bhyve, in the VM's snapshots and rollbacks, grown, deleted with
the disk or the VM; clones and backups refuse a VM with one rather than leave it behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.helpers import config, rpc, standin, start_vm, stop_vm, vm_state, vm_xml
from ncclient.operations import RPCError
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.namespaces import VM

FILE = "<disk><name>data</name><size>2G</size><file/></disk>"


def _image(root: Path) -> Path:
    return root / "vm" / "web" / "disks" / "data.img"


def _poke(path: Path, data: bytes, at: int = 1 << 20) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(data)


def _peek(path: Path, n: int, at: int = 1 << 20) -> bytes:
    with open(path, "rb") as f:
        f.seek(at)
        return f.read(n)


def test_a_file_disk_lives_with_the_vm(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("web", disks={"sys": "1G"}, extra=FILE)), target="running")
    image = _image(root)
    assert image.stat().st_size == 2 << 30 and image.stat().st_blocks == 0  # sparse
    standin(root, "web")
    start_vm(m, "web")
    wait_for(lambda: vm_state(m, "web")["status"] == "running", what="web to run")
    argv = json.loads((root / "vm/web/state/run.json").read_text())["argv"]
    assert f"4,virtio-blk,{image}" in argv
    stop_vm(m, "web")
    wait_for(lambda: vm_state(m, "web")["status"] == "stopped", what="web to stop")
    # in the VM's snapshot: overwritten, rolled back, the bytes are back
    _poke(image, b"before")
    rpc(m, f'<snapshot-vm xmlns="{VM}"><vm>web</vm><name>s1</name></snapshot-vm>')
    _poke(image, b"after!")
    rpc(m, f'<rollback-vm xmlns="{VM}"><vm>web</vm><name>s1</name></rollback-vm>')
    assert _peek(image, 6) == b"before"
    # grown, never shrunk
    m.edit_config(config(vms=vm_xml("web", extra=FILE.replace("2G", "3G"))), target="running")
    assert image.stat().st_size == 3 << 30 and _peek(image, 6) == b"before"
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("web", extra=FILE.replace("2G", "1G"))),
                      target="running")
    assert e.value.message == ("disk data of VM web cannot shrink from 3G to 1G: shrinking a "
                               "file destroys the guest's data")
    # clones and backups copy zvols only: refused, naming the file disk
    with pytest.raises(RPCError) as e:
        rpc(m, f'<clone-vm xmlns="{VM}"><vm>web</vm><name>web2</name></clone-vm>')
    assert e.value.message == ("VM web has file disk data: a clone copies zvols only, and "
                               "would leave it behind; snapshots and rollbacks do include file "
                               "disks")
    # removed with the disk
    m.edit_config(config(vms=vm_xml("web", disks={"sys": "1G"}, op="replace")),
                  target="running")
    assert not image.exists()
    m.edit_config(config(vms=vm_xml("web", extra=FILE)), target="running")
    assert image.exists()
    m.edit_config(config(vms=vm_xml("web", op="delete")), target="running")
    assert not image.exists() and not (root / "vm" / "web" / "disks").exists()


def test_a_failed_commit_leaves_no_file(vmhvd: HvdInstance) -> None:
    from hvd_netconf.host.sim.host import SimHost

    root, m = vmhvd.root, vmhvd.connect_uds()
    # the zvol comes after the file: its failure undoes the file
    SimHost(root).inject_fault(("zfs", "create", "-s"), "cannot create: out of space")
    with pytest.raises(RPCError):
        m.edit_config(config(vms=vm_xml("web", disks={"sys": "1G"}, extra=FILE)),
                      target="running")
    assert "web" not in m.get_config("running").xml
    assert list(root.rglob("*.img")) == []  # the file the plan made is undone
    log = (root / ".sim" / "host.log").read_text()
    assert log.index('"truncate", "-s", "2G"') < log.index('"rm", "-f"')
