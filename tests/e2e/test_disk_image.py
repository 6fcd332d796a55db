"""Issue 20, item 3: write-disk-image puts a raw or qcow2 image onto a stopped VM's zvol; on
the sim both are copied into the zvol's stand-in file (the sim's qemu-img converts nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.helpers import config, guest_ready, rpc, standin, start_vm, vm_xml
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

DISK = "zroot/hv/vm/web/disks/disk0"


def _write(m: object, image: Path, disk: str = "disk0") -> tuple[str, str]:
    out = rpc(m, f'<write-disk-image xmlns="{VM}"><name>web</name><disk>{disk}</disk>'  # type: ignore[arg-type]
                 f"<image>{image}</image></write-disk-image>")
    return out.findtext(f"{{{VM}}}format") or "", out.findtext(f"{{{VM}}}bytes") or ""


def test_raw_and_qcow2_images_onto_a_stopped_vm(vmhvd: HvdInstance, tmp_path: Path) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("web", disks={"disk0": "1M"})), target="running")
    raw = tmp_path / "disk.raw"
    raw.write_bytes(b"\xebc\x90" + b"R" * 4093)
    assert _write(m, raw) == ("raw", "4096")
    zvol = SimHost(vmhvd.root).zvol_file(DISK)
    assert zvol.read_bytes()[:4096] == raw.read_bytes()
    qcow = tmp_path / "jammy.img"
    qcow.write_bytes(b"QFI\xfb" + b"Q" * 100)
    assert _write(m, qcow) == ("qcow2", "104")
    assert zvol.read_bytes()[:104] == qcow.read_bytes()

    big = tmp_path / "big.raw"
    big.write_bytes(b"\0" * (2 << 20))
    with pytest.raises(RPCError) as e:
        _write(m, big)
    assert e.value.message == (f"cannot write {big} onto disk disk0 of VM web: dd: "
                               f"/dev/zvol/{DISK}: end of device")
    with pytest.raises(RPCError) as e:
        _write(m, raw, "disk9")
    assert e.value.tag == "data-missing"
    with pytest.raises(RPCError) as e:
        _write(m, tmp_path / "none.raw")
    assert e.value.message == f"{tmp_path / 'none.raw'}: No such file or directory"

    standin(vmhvd.root, "web")
    start_vm(m, "web")
    guest_ready(vmhvd.root, "web")
    with pytest.raises(RPCError) as e:
        _write(m, raw)
    assert e.value.tag == "in-use" and "stop it first" in e.value.message
