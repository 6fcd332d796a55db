"""Issue 20, item 3: a VM with cloud-init on the sim gets its NoCloud seed as a CD-ROM; the
seed's files read back with a Python ISO reader; a change waits for the next start."""

from __future__ import annotations

import json

import pytest
from e2e.helpers import config, guest_ready, standin, start_vm, stop_vm, vm_state, vm_xml
from host.test_cloudinit import KEY, read_back
from ncclient.operations import RPCError
from support.server import HvdInstance


def test_seed_attached_read_back_and_rebuilt_at_the_next_start(vmhvd: HvdInstance) -> None:
    root = vmhvd.root
    m = vmhvd.connect_uds()
    ci = (f"<cloud-init><hostname>web</hostname><ssh-authorized-key>{KEY}"
          "</ssh-authorized-key></cloud-init>")
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G"}, extra=ci)), target="running")
    standin(root, "web")
    start_vm(m, "web")
    guest_ready(root, "web")
    seed = root / "vm" / "web" / "cidata.iso"
    argv = json.loads((root / "vm/web/state/run.json").read_text())["argv"]
    assert f"21,ahci-cd,{seed},ro" in argv
    label, files, _ = read_back(seed.read_bytes())
    assert label == "cidata" and b'local-hostname: "web"' in files["meta-data"]
    assert KEY.encode() in files["meta-data"]

    m.edit_config(config(vms=vm_xml("web", extra="<cloud-init><hostname>www</hostname>"
                                                  "</cloud-init>")), target="running")
    assert vm_state(m, "web")["pending-restart"] == "true"
    stop_vm(m, "web")
    start_vm(m, "web")
    guest_ready(root, "web", 2)
    _label, files, _ = read_back(seed.read_bytes())
    assert b'local-hostname: "www"' in files["meta-data"]
    assert vm_state(m, "web")["pending-restart"] == "false"


def test_a_password_hash_goes_with_hvds_user_data_only(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    with pytest.raises(RPCError) as e:
        m.edit_config(config(vms=vm_xml("web", extra=(
            "<cloud-init><user-data>#cloud-config</user-data>"
            "<password-hash>$6$salt$hash</password-hash></cloud-init>"))), target="running")
    assert "password-hash goes into the user-data hvd writes" in e.value.message
    with pytest.raises(RPCError) as e:  # a plain password is not a hash
        m.edit_config(config(vms=vm_xml("web", extra=(
            "<cloud-init><password-hash>hunter2</password-hash></cloud-init>"))),
            target="running")
    assert e.value.tag == "invalid-value"
