"""Issue 20 item 8: a vm-bhyve directory of five guests (UEFI, grub, bhyveload and the legacy
guest= form; zvol, sparse-zvol, file and custom disks; two standard switches and a vale one)
imported over the wire: a dry run that changes nothing and lists what has no hvd equivalent,
then one commit, then every VM starts on the sim with its old disks, uuid and MACs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.helpers import guest_ready, rpc, running_xml, standin, start_vm, vm_state
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host import zfs
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM
from hvd_netconf.users import UserDB

N = {"v": VM}
UUID = "0b5e7c9a-1f2e-4d3c-8b7a-6c5d4e3f2a1{}"
GUESTS = {
    "fbsd": f'loader="bhyveload"\ncpu=2\nmemory=1G\nuuid="{UUID.format(1)}"\n'
            'disk0_type="virtio-blk"\ndisk0_name="disk0"\ndisk0_dev="zvol"\n'
            'network0_type="virtio-net"\nnetwork0_switch="public"\n'
            'network0_mac="58:9c:fc:00:00:01"\n',
    "deb": f'loader="grub"\ncpu=1\nmemory=512M\nuuid="{UUID.format(2)}"\n'
           'disk0_type="virtio-blk"\ndisk0_name="disk0.img"\n'
           'network0_type="e1000"\nnetwork0_switch="lan"\nnetwork0_mac="58:9C:FC:00:00:02"\n'
           'grub_run0="linux /vmlinuz root=/dev/vda1"\n',
    "win": f'loader="uefi"\ncpu=4\ncpu_sockets=1\ncpu_cores=4\ncpu_threads=1\nmemory=2G\n'
           f'uuid="{UUID.format(3)}"\ndisk0_type="nvme"\ndisk0_dev="custom"\n'
           'disk0_name="{images}/win.img"\ngraphics="yes"\nxhci_mouse="yes"\n'
           'limit_pcpu="50"\nlimit_wbps="1000"\n'
           'network0_type="virtio-net"\nnetwork0_switch="public"\n'
           'network0_mac="58:9c:fc:00:00:03"\n',
    "alp": f'loader="uefi"\nmemory=256M  # a comment\nutctime="no"\nuuid="{UUID.format(4)}"\n'
           'disk0_type="virtio-blk"\ndisk0_name="disk0"\ndisk0_dev="sparse-zvol"\n'
           'disk0_opts="nocache"\nnetwork0_switch="public"\nnetwork0_mac="58:9c:fc:00:00:04"\n'
           'network1_switch="ghost"\n',
    "old": f'guest="freebsd"\ncpu=1\nmemory=512\nuuid="{UUID.format(5)}"\n'
           'disk0_type="ahci-hd"\ndisk0_name="disk0.img"\n',
    "csm": 'loader="uefi-csm"\ncpu=1\nmemory=512M\n',
}
SWITCHES = ('switch_list="public lan vsw"\ntype_public="standard"\nports_public="em0"\n'
            'type_lan="standard"\naddr_lan="10.9.0.1/24"\ntype_vsw="vale"\n')


def vm_bhyve_tree(base: Path) -> Path:
    """vm_dir as vm-bhyve lays it out: .config/system.conf, NAME/NAME.conf, the images."""
    vm_dir = base / "vms"
    (vm_dir / ".config").mkdir(parents=True)
    (vm_dir / ".config" / "system.conf").write_text(SWITCHES)
    (vm_dir / ".templates").mkdir()  # vm-bhyve's own folders are not guests
    images = base / "images"
    images.mkdir()
    (images / "win.img").write_bytes(b"\0" * 4096)
    for name, conf in GUESTS.items():
        (vm_dir / name).mkdir()
        (vm_dir / name / f"{name}.conf").write_text(conf.replace("{images}", str(images)))
    for name in ("deb", "old"):
        (vm_dir / name / "disk0.img").write_bytes(b"\0" * 4096)
    return vm_dir


def import_rpc(m, vm_dir: Path, *, commit: bool) -> etree._Element:  # type: ignore[no-untyped-def]
    return rpc(m, f'<import-vm-bhyve xmlns="{VM}"><directory>{vm_dir}</directory>'
                  "<dataset>zroot/vm</dataset>"
                  f"<commit>{'true' if commit else 'false'}</commit></import-vm-bhyve>")


def untranslated(reply: etree._Element) -> dict[tuple[str, str], str]:
    return {(u.findtext("v:entry", namespaces=N), u.findtext("v:key", namespaces=N)):
            u.findtext("v:reason", namespaces=N) or ""
            for u in reply.iterfind(".//v:untranslated", N)}


def test_import_a_vm_bhyve_directory_then_start_every_vm(vmhvd: HvdInstance,
                                                         tmp_path: Path) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    vm_dir = vm_bhyve_tree(tmp_path)
    sim = SimHost(root)
    for ds in ("zroot/vm", "zroot/vm/fbsd", "zroot/vm/alp"):
        sim.run(zfs.create_filesystem(ds, "operator"))
    for vm in ("fbsd", "alp"):
        sim.run(("zfs", "create", "-V", "1G", f"zroot/vm/{vm}/disk0"))

    before = running_xml(m)
    dry = import_rpc(m, vm_dir, commit=False)
    assert running_xml(m) == before  # a dry run changes nothing
    assert dry.xpath("//v:vm/text()", namespaces=N) == ["alp", "deb", "fbsd", "old", "win"]
    assert dry.xpath("//v:network/text()", namespaces=N) == ["public", "lan"]  # switch_list order
    assert dry.find(".//v:commit-id", N) is None
    left = untranslated(dry)
    assert "UEFI without CSM" in left[("vm csm", "loader")]
    assert "vale switch" in left[("switch vsw", "type_vsw")]
    assert left[("vm win", "graphics")] == "no hvd equivalent"
    assert left[("vm deb", "grub_run0")] == "no hvd equivalent"
    assert "racct does not count" in left[("vm win", "limit_wbps")]
    assert "switch 'ghost' is not imported" in left[("vm alp", "network1_switch")]
    assert "imported without them" in left[("vm alp", "disk0_opts")]
    config = dry.findtext(".//v:config", namespaces=N) or ""
    assert "/dev/zvol/zroot/vm/fbsd/disk0" in config and f"{vm_dir}/deb/disk0.img" in config

    done = import_rpc(m, vm_dir, commit=True)
    assert done.findtext(".//v:commit-id", namespaces=N)
    got = etree.fromstring(m.get_config("running").xml.encode())
    assert got.xpath("//v:vm[v:name='win']/v:cpu-topology/v:cores/text()", namespaces=N) == ["4"]
    assert got.xpath("//v:vm[v:name='alp']/v:utc-clock/text()", namespaces=N) == ["false"]
    assert got.xpath("//v:vm[v:name='old']/v:loader/v:type/text()", namespaces=N) == [
        "bhyveload"]
    assert got.xpath("//v:vm[v:name='win']/v:limits/v:cpu-percent/text()", namespaces=N) == [
        "50"]
    for i, vm in enumerate(("fbsd", "deb", "win", "alp", "old"), start=1):
        standin(root, vm)
        start_vm(m, vm)
        guest_ready(root, vm)
        assert vm_state(m, vm)["status"] == "running"
        argv = json.loads((root / "vm" / vm / "state" / "run.json").read_text())["argv"]
        words = " ".join(argv)
        assert "-U " + UUID.format(i) in words, words  # its old SMBIOS uuid
        if vm != "old":
            assert f"mac=58:9c:fc:00:00:0{i}" in words  # its old MAC
    words = " ".join(json.loads((root / "vm" / "deb" / "state" / "run.json").read_text())["argv"])
    assert f"virtio-blk,{vm_dir}/deb/disk0.img" in words  # the image where it was, no copy
    assert "zroot/vm/fbsd/disk0" in sim.state()["datasets"]  # hvd took the zvol as it is

    again = import_rpc(m, vm_dir, commit=True)  # everything is there already: nothing doubled
    assert again.find(".//v:commit-id", N) is None
    assert "already" in untranslated(again)[("vm fbsd", "name")]


def test_a_missing_directory_is_refused(vmhvd: HvdInstance, tmp_path: Path) -> None:
    m = vmhvd.connect_uds()
    with pytest.raises(RPCError) as err:
        import_rpc(m, tmp_path / "nothing", commit=False)
    assert err.value.tag == "data-missing" and "is not a directory" in err.value.message


def test_only_users_nacm_names_may_import(hvd: HvdInstance, tmp_path: Path) -> None:
    """It reads files of the host: nacm:default-deny-all, so a user without a rule that names
    it is refused, even where everything else is permitted by default."""
    UserDB.for_root(hvd.root).add("rita", password="rita-pw")
    rita = hvd.connect_ssh(username="rita", password="rita-pw")
    with pytest.raises(RPCError) as err:
        import_rpc(rita, vm_bhyve_tree(tmp_path), commit=False)
    assert err.value.tag == "access-denied"
