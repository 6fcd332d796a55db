"""Issue 20 item 4 on the sim, over the wire: two VMs with graphics get two VNC ports, shown in
their state and by `hv vnc`, each answering as an RFB server; a port set twice and graphics
without UEFI are refused at validation, before anything changes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from e2e.helpers import config, guest_ready, standin, start_vm, vm_state, vm_xml
from ncclient.operations import RPCError
from support.server import HvdInstance


def rfb_greeting(address: str) -> bytes:
    host, _, port = address.rpartition(":")
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as s:
        return s.recv(12)


def test_two_vms_get_two_vnc_servers(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("a", extra="<graphics/>")
                         + vm_xml("b", extra="<graphics><width>800</width>"
                                             "<height>600</height></graphics>")),
                  target="running")
    addresses = []
    for vm in ("a", "b"):
        standin(root, vm)
        start_vm(m, vm)
        guest_ready(root, vm)
        addresses.append(vm_state(m, vm)["vnc"])
    assert addresses[0] != addresses[1]
    assert all(a.startswith("127.0.0.1:") and 5900 <= int(a.rpartition(":")[2]) < 65536
               for a in addresses)
    assert [rfb_greeting(a) for a in addresses] == [b"RFB 003.008\n"] * 2
    shown = subprocess.run([sys.executable, "-m", "hv_cli", "--socket", str(vmhvd.socket_path),
                            "vnc", "b"], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip() == addresses[1]


def test_a_port_twice_and_graphics_without_uefi_are_refused(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("a", extra="<graphics><port>5990</port></graphics>")),
                  target="running")
    with pytest.raises(RPCError) as err:
        m.edit_config(config(vms=vm_xml("b", extra="<graphics><port>5990</port></graphics>")),
                      target="running")
    assert "VNC port 5990 is already the graphics port of VM a" in err.value.message
    with pytest.raises(RPCError) as err:
        m.edit_config(config(vms=vm_xml("c", extra="<loader><type>bhyveload</type></loader>"
                                                   "<disk><name>d</name><size>1G</size></disk>"
                                                   "<graphics/>")), target="running")
    assert "graphics need the UEFI loader" in err.value.message


def test_devices_for_a_guest(vmhvd: HvdInstance) -> None:
    """A device ppt holds goes through; one it does not is refused before anything changes,
    naming pciconf and loader.conf; shares and a TPM reach bhyve's command line."""
    root, m = vmhvd.root, vmhvd.connect_uds()
    with pytest.raises(RPCError) as err:
        m.edit_config(config(vms=vm_xml("d", extra="<passthru><device>5/0/0</device>"
                                                   "</passthru>")), target="running")
    assert "host PCI device 5/0/0 is not reserved for passthrough" in err.value.message
    assert 'pptdevs="5/0/0"' in err.value.message
    m.edit_config(config(vms=vm_xml("d", extra="<passthru><device>3/0/0</device></passthru>"
                                               f"<share><name>src</name><path>{root}</path>"
                                               "</share><tpm/>")), target="running")
    standin(root, "d")
    start_vm(m, "d")
    guest_ready(root, "d")
    words = " ".join(json.loads((root / "vm" / "d" / "state" / "run.json").read_text())["argv"])
    assert "-s 22,passthru,3/0/0" in words and f"-s 23,virtio-9p,src={root}" in words
    assert "-l tpm,passthru,/dev/tpm0" in words
