"""Issue 19 item 5: a disk backed by an existing device instead of a zvol hvd creates, over
NETCONF on the sim. The device (here a zvol made by hand, which hvd does not own) reaches
bhyve as it is and outlives the disk's removal and the VM's destruction; a device that is not
there fails the start in bhyve's words."""

from __future__ import annotations

import json

import pytest
from e2e.helpers import config, sim_state, standin, start_vm, stop_vm, vm_state, vm_xml
from ncclient.operations import RPCError
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host.sim.host import SimHost

FOREIGN = "zroot/legacy/vol0"
DEVICE = f"<disk><name>data</name><device>/dev/zvol/{FOREIGN}</device></disk>"


def _volumes(root) -> set[str]:  # type: ignore[no-untyped-def]
    out = SimHost(root).run(("zfs", "list", "-H", "-o", "name", "-t", "volume", "-r", "zroot"))
    return set(out.split())


def test_an_existing_device_is_used_and_never_destroyed(vmhvd: HvdInstance) -> None:
    sim = SimHost(vmhvd.root)
    sim.run(("zfs", "create", "-p", "zroot/legacy"))
    sim.run(("zfs", "create", "-s", "-V", "1G", FOREIGN))
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("nas", disks={"sys": "1G"}, extra=DEVICE)),
                  target="running")
    assert _volumes(vmhvd.root) == {FOREIGN, "zroot/hv/vm/nas/disks/sys"}
    standin(vmhvd.root, "nas")
    start_vm(m, "nas")
    wait_for(lambda: vm_state(m, "nas")["status"] == "running", what="nas to run")
    assert "nas" in sim_state(vmhvd.root)["vmm"]
    launched = json.loads((vmhvd.root / "vm/nas/state/run.json").read_text())["argv"]
    assert f"4,virtio-blk,/dev/zvol/{FOREIGN}" in launched  # data comes first in vm_xml
    stop_vm(m, "nas")
    wait_for(lambda: vm_state(m, "nas")["status"] == "stopped", what="nas to stop")
    m.edit_config(config(vms=vm_xml("nas", disks={"sys": "1G"}, op="replace")),
                  target="running")  # the device disk removed
    assert _volumes(vmhvd.root) == {FOREIGN, "zroot/hv/vm/nas/disks/sys"}
    m.edit_config(config(vms=vm_xml("nas", disks={"sys": "1G"}, extra=DEVICE)),
                  target="running")
    m.edit_config(config(vms=vm_xml("nas", op="delete")), target="running")
    assert _volumes(vmhvd.root) == {FOREIGN}


def test_a_device_that_is_not_there_fails_the_start_in_bhyves_words(
        vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    missing = "<disk><name>data</name><device>/dev/da99</device></disk>"
    m.edit_config(config(vms=vm_xml("nas", extra=missing)), target="running")
    standin(vmhvd.root, "nas")
    start_vm(m, "nas")
    wait_for(lambda: vm_state(m, "nas").get("last-exit-code") is not None,
             what="bhyve of nas to exit")
    assert vm_state(m, "nas")["last-exit-reason"] == (
        "bhyve exited on an error (exit 4): bhyve: Could not open backing file: /dev/da99: "
        "No such file or directory")


def test_one_device_is_never_given_to_two_disks(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("nas", extra=DEVICE)), target="running")
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("db", extra=DEVICE)), target="running")
    assert e.value.message == (
        f"disk data of VM db: device /dev/zvol/{FOREIGN} is already the disk of vm nas disk "
        "data; two disks on one device would overwrite each other")
    twice = DEVICE + DEVICE.replace("<name>data</name>", "<name>more</name>")
    m.edit_config(config(vms=vm_xml("db", extra=twice)), target="candidate")
    with pytest.raises(RPCError) as e:
        m.commit()
    assert "is already the disk of vm" in str(e.value.message)
    m.discard_changes()
    # the VM that holds it keeps it through its own later changes
    m.edit_config(config(vms=vm_xml("nas", extra="<cpu>2</cpu>" + DEVICE)), target="running")
