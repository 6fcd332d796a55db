"""The cloud-init NoCloud seed (host/cloudinit.py): its files, the ISO read back with pycdlib,
and where bhyve gets it (bhyve(8): -s slot,ahci-cd,path,ro)."""

from __future__ import annotations

import io

import pycdlib
from lxml import etree

from hvd_netconf.host import bhyve, cloudinit, specs

VM_NS = "urn:hvd:vm"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9kZXZlbG9wZXJrZXk me@desk"


def spec(cloud_init: str, name: str = "web_1") -> specs.VmSpec:
    return specs.read_vm(etree.fromstring(
        f'<vm xmlns="{VM_NS}"><name>{name}</name><uuid>3f2c1a00-1111-4222-8333-444455556666'
        f"</uuid><cloud-init>{cloud_init}</cloud-init></vm>"))


def read_back(image: bytes) -> tuple[str, dict[str, bytes], dict[str, bytes]]:
    """The volume label and the files by their Rock Ridge and by their Joliet names."""
    iso = pycdlib.PyCdlib()
    iso.open_fp(io.BytesIO(image))
    label = iso.pvd.volume_identifier.decode().strip()
    by_rr, by_joliet = {}, {}
    for rec in iso.list_children(rr_path="/"):
        if rec.is_dir():
            continue
        name = rec.rock_ridge.name().decode()
        for table, kw in ((by_rr, {"rr_path": f"/{name}"}),
                          (by_joliet, {"joliet_path": f"/{name}"})):
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, **kw)
            table[name] = out.getvalue()
    iso.close()
    return label, by_rr, by_joliet


def test_generated_seed_reads_back_identical_with_the_label_cidata() -> None:
    vm = spec(f"<ssh-authorized-key>{KEY}</ssh-authorized-key>"
              "<password-hash>$6$salt$hashhashhash</password-hash>")
    files = cloudinit.files(vm)
    assert files == {
        "meta-data": (b'instance-id: "3f2c1a00-1111-4222-8333-444455556666"\n'
                      b'local-hostname: "web-1"\n'
                      b'public-keys: ["' + KEY.encode() + b'"]\n'),
        "user-data": (b"#cloud-config\nchpasswd:\n  expire: false\n"
                      b'  users: [{"name": "root", "password": "$6$salt$hashhashhash", '
                      b'"type": "hash"}]\n'),
    }
    label, by_rr, by_joliet = read_back(cloudinit.seed_iso(files))
    assert label == "cidata"
    assert by_rr == files and by_joliet == files


def test_own_user_data_and_network_config_are_copied_as_they_are() -> None:
    user = "#cloud-config\npackages: [nginx]\n"
    net = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"
    vm = spec(f"<hostname>www</hostname><instance-id>i-2</instance-id>"
              f"<user-data>{user}</user-data><network-config>{net}</network-config>")
    _label, by_rr, _ = read_back(cloudinit.seed_iso(cloudinit.files(vm)))
    assert by_rr == {"meta-data": b'instance-id: "i-2"\nlocal-hostname: "www"\n',
                     "user-data": user.encode(), "network-config": net.encode()}


def test_bhyve_gets_the_seed_as_a_cd_on_slot_21() -> None:
    vm = spec("")
    argv = bhyve.bhyve(vm, taps=[], zfs_parent="tank/hv", vm_dir="/hv/vm/web_1")
    i = argv.index("21,ahci-cd,/hv/vm/web_1/cidata.iso,ro")
    assert argv[i - 1] == "-s" and argv[i + 1:i + 3] == ("-s", "31,lpc")


def test_a_seed_change_waits_for_the_next_start() -> None:
    running = bhyve.launch(spec("<hostname>a</hostname>"), {})
    assert bhyve.needs_restart(running, spec("<hostname>b</hostname>"), {})
    assert not bhyve.needs_restart(running, spec("<hostname>a</hostname>"), {})
