"""Golden argv for bhyve and its loaders, written out literally (bhyve(8);
docs/freebsd-facts.md §5.7)."""

from __future__ import annotations

import pytest
from lxml import etree

from hvd_netconf.host import bhyve, names, specs

VM_NS = "urn:hvd:vm"


def vm_el(body: str) -> etree._Element:
    return etree.fromstring(f'<vm xmlns="{VM_NS}">{body}</vm>')


WEB = """
<name>web</name><cpu>2</cpu><memory>2048</memory>
<uuid>3f2c1a00-1111-4222-8333-444455556666</uuid>
<disk><name>disk0</name><size>20G</size></disk>
<nic><name>nic0</name><network>lan</network><mac>58:9c:fc:0a:bc:de</mac></nic>
"""


def test_section_5_7_composed_example() -> None:
    spec = specs.read_vm(vm_el(WEB))
    argv = bhyve.bhyve(spec, taps=["tap3"], zfs_parent="tank/hv", vm_dir="/hv/vm/web")
    assert " ".join(argv) == (
        "bhyve -c 2 -m 2048M -A -H -P -w -u -U 3f2c1a00-1111-4222-8333-444455556666 "
        "-s 0,hostbridge "
        "-s 4,virtio-blk,/dev/zvol/tank/hv/vm/web/disks/disk0 "
        "-s 5,virtio-net,tap3,mac=58:9c:fc:0a:bc:de "
        "-s 31,lpc -l com1,/dev/nmdm-web.1A "
        "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI_CODE.fd,/hv/vm/web/uefi-vars.fd web"
    )


UEFI_BIG = """
<name>db</name><cpu>4</cpu><memory>8192</memory><boot-device>sys</boot-device>
<uuid>aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee</uuid>
<install-iso>/iso/os.iso</install-iso><utc-clock>false</utc-clock>
<disk><name>data</name><size>100G</size><emulation>nvme</emulation></disk>
<disk><name>sys</name><size>20G</size><sectorsize>4096</sectorsize></disk>
<disk><name>old</name><size>1G</size><emulation>ahci-hd</emulation></disk>
<nic><name>nic0</name><network>lan</network><mac>58:9C:FC:00:00:01</mac></nic>
<nic><name>nic1</name><network>dmz</network><mac>58:9c:fc:00:00:02</mac>
  <emulation>e1000</emulation></nic>
<nic><name>nic2</name><network>jumbo</network><mac>58:9c:fc:00:00:03</mac></nic>
"""


def test_uefi_several_disks_and_nics_with_iso() -> None:
    spec = specs.read_vm(vm_el(UEFI_BIG))
    argv = bhyve.bhyve(spec, taps=["tap0", "tap1", "tap7"], mtus=[1500, 9000, 9000],
                       zfs_parent="zroot/hv", vm_dir="/hv/vm/db")
    assert argv == (
        "bhyve", "-c", "4", "-m", "8192M", "-A", "-H", "-P", "-w",
        "-U", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        "-s", "0,hostbridge",
        "-s", "3,ahci-cd,/iso/os.iso,ro",
        "-s", "4,nvme,/dev/zvol/zroot/hv/vm/db/disks/data",
        "-s", "5,virtio-blk,/dev/zvol/zroot/hv/vm/db/disks/sys,sectorsize=4096,bootindex=1",
        "-s", "6,ahci-hd,/dev/zvol/zroot/hv/vm/db/disks/old",
        "-s", "7,virtio-net,tap0,mac=58:9c:fc:00:00:01",
        "-s", "8,e1000,tap1,mac=58:9c:fc:00:00:02",
        "-s", "9,virtio-net,tap7,mac=58:9c:fc:00:00:03,mtu=9000",
        "-s", "31,lpc",
        "-l", "com1,/dev/nmdm-db.1A",
        "-l", "bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI_CODE.fd,/hv/vm/db/uefi-vars.fd",
        "db",
    )
    # After the first reboot the ISO is gone; the other slots stay where they were.
    again = bhyve.bhyve(spec, taps=["tap0", "tap1", "tap7"], mtus=[1500, 9000, 9000],
                        zfs_parent="zroot/hv", vm_dir="/hv/vm/db", with_iso=False)
    assert "3,ahci-cd,/iso/os.iso,ro" not in again
    assert [a for a in argv if a != "3,ahci-cd,/iso/os.iso,ro" and a != "-s"] == [
        a for a in again if a != "-s"]


def test_uefi_without_vars_copy_and_without_console() -> None:
    spec = specs.read_vm(vm_el(
        "<name>w</name><loader><uefi-vars>false</uefi-vars></loader><console>none</console>"
        "<uuid>aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee</uuid>"
        "<disk><name>d</name><size>1G</size></disk>"))
    assert bhyve.bhyve(spec, taps=[], zfs_parent="p/hv", vm_dir="/hv/vm/w",
                       firmware_dir="/usr/local/share/edk2-bhyve") == (
        "bhyve", "-c", "1", "-m", "512M", "-A", "-H", "-P", "-w", "-u",
        "-U", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
        "-s", "0,hostbridge",
        "-s", "4,virtio-blk,/dev/zvol/p/hv/vm/w/disks/d",
        "-s", "31,lpc",
        "-l", "bootrom,/usr/local/share/edk2-bhyve/BHYVE_UEFI.fd",
        "w",
    )


BSD = """
<name>bsd</name><cpu>2</cpu><memory>1024</memory><loader><type>bhyveload</type></loader>
<uuid>11111111-2222-4333-8444-555555555555</uuid><boot-device>root</boot-device>
<disk><name>swap</name><size>2G</size></disk>
<disk><name>root</name><size>20G</size></disk>
<nic><name>nic0</name><network>lan</network><mac>58:9c:fc:01:02:03</mac></nic>
<nic><name>nic1</name><network>lan</network><mac>58:9c:fc:01:02:04</mac></nic>
"""


def test_bhyveload_guest() -> None:
    spec = specs.read_vm(vm_el(BSD))
    assert bhyve.bhyveload(spec, zfs_parent="tank/hv") == (
        "bhyveload", "-m", "1024M", "-d", "/dev/zvol/tank/hv/vm/bsd/disks/root",
        "-c", "/dev/nmdm-bsd.1A", "-e", "bhyve_vm_name=bsd",
        "-e", "smbios.system.uuid=11111111-2222-4333-8444-555555555555", "bsd",
    )
    assert " ".join(bhyve.bhyve(spec, taps=["tap4", "tap5"], zfs_parent="tank/hv",
                                vm_dir="/hv/vm/bsd")) == (
        "bhyve -c 2 -m 1024M -A -H -P -w -u -U 11111111-2222-4333-8444-555555555555 "
        "-s 0,hostbridge "
        "-s 4,virtio-blk,/dev/zvol/tank/hv/vm/bsd/disks/swap "
        "-s 5,virtio-blk,/dev/zvol/tank/hv/vm/bsd/disks/root "
        "-s 6,virtio-net,tap4,mac=58:9c:fc:01:02:03 "
        "-s 7,virtio-net,tap5,mac=58:9c:fc:01:02:04 "
        "-s 31,lpc -l com1,/dev/nmdm-bsd.1A bsd"
    )


def test_bhyveload_installs_from_the_iso_then_boots_the_disk() -> None:
    spec = specs.read_vm(vm_el(BSD.replace(
        "<boot-device>root</boot-device>", "<install-iso>/iso/fbsd.iso</install-iso>")))
    assert bhyve.bhyveload(spec, zfs_parent="tank/hv")[3:5] == ("-d", "/iso/fbsd.iso")
    # No boot-device: the first disk.
    assert bhyve.bhyveload(spec, zfs_parent="tank/hv", with_iso=False)[3:5] == (
        "-d", "/dev/zvol/tank/hv/vm/bsd/disks/swap")


LINUX = """
<name>deb</name><memory>4096</memory>
<loader><type>grub</type><grub-root>hd0,gpt2</grub-root></loader>
<uuid>99999999-8888-4777-8666-555555555555</uuid><install-iso>/iso/debian.iso</install-iso>
<disk><name>sys</name><size>10G</size></disk>
<disk><name>home</name><size>50G</size><emulation>nvme</emulation></disk>
<nic><name>eth0</name><network>lan</network><mac>58:9c:fc:0f:ff:fe</mac></nic>
<nic><name>eth1</name><network>san</network><mac>58:9c:fc:0f:ff:ff</mac>
  <emulation>e1000</emulation></nic>
"""


def test_grub_guest() -> None:
    spec = specs.read_vm(vm_el(LINUX))
    assert bhyve.grub_device_map(spec, zfs_parent="tank/hv") == (
        "(hd0) /dev/zvol/tank/hv/vm/deb/disks/sys\n"
        "(hd1) /dev/zvol/tank/hv/vm/deb/disks/home\n"
        "(cd0) /iso/debian.iso\n"
    )
    assert bhyve.grub_bhyve(spec, device_map="/hv/vm/deb/state/device.map") == (
        "grub-bhyve", "-m", "/hv/vm/deb/state/device.map", "-r", "cd0", "-M", "4096M",
        "-c", "/dev/nmdm-deb.1A", "deb",
    )
    assert bhyve.grub_bhyve(spec, device_map="/m", with_iso=False)[3:5] == ("-r", "hd0,gpt2")
    assert bhyve.grub_device_map(spec, zfs_parent="tank/hv", with_iso=False).count("\n") == 2
    assert " ".join(bhyve.bhyve(spec, taps=["tap9", "tap10"], zfs_parent="tank/hv",
                                vm_dir="/hv/vm/deb")) == (
        "bhyve -c 1 -m 4096M -A -H -P -w -u -U 99999999-8888-4777-8666-555555555555 "
        "-s 0,hostbridge -s 3,ahci-cd,/iso/debian.iso,ro "
        "-s 4,virtio-blk,/dev/zvol/tank/hv/vm/deb/disks/sys "
        "-s 5,nvme,/dev/zvol/tank/hv/vm/deb/disks/home "
        "-s 6,virtio-net,tap9,mac=58:9c:fc:0f:ff:fe "
        "-s 7,e1000,tap10,mac=58:9c:fc:0f:ff:ff "
        "-s 31,lpc -l com1,/dev/nmdm-deb.1A deb"
    )


def test_defaults_and_derived_identity() -> None:
    spec = specs.read_vm(vm_el("<name>x</name><nic><name>n</name><network>l</network></nic>"))
    assert (spec.cpu, spec.memory, spec.loader, spec.console, spec.stop_timeout) == (
        1, 512, "uefi", "nmdm", 30)
    assert (spec.on_reboot, spec.on_poweroff, spec.on_crash) == ("restart", "stop", "stop")
    assert spec.nics[0].mac == names.mac_address("x", "n")
    argv = bhyve.bhyve(spec, taps=["tap0"], zfs_parent="t/hv", vm_dir="/hv/vm/x")
    assert argv[argv.index("-U") + 1] == names.vm_uuid("x")


def test_launched_size_reads_the_bhyve_command_line() -> None:
    """The loader's own -c (console) and -m come first; the size is bhyve's -c and -m."""
    spec = specs.read_vm(vm_el(BSD))
    running = bhyve.launch(spec, {"lan": 1500})
    assert running.commands[-2][0] == "bhyveload"
    assert bhyve.launched_size(running) == (2, 1024)
    assert bhyve.launched_size(bhyve.launch(specs.read_vm(vm_el(WEB)), {"lan": 9000})) == (
        2, 2048)


def test_bhyvectl() -> None:
    assert bhyve.destroy("web") == ("bhyvectl", "--vm=web", "--destroy")
    assert bhyve.force_poweroff("web") == ("bhyvectl", "--vm=web", "--force-poweroff")


def test_who_holds_a_vmm_instance() -> None:
    """§7: bhyve's title, or a bhyve/loader argv ending with the VM name; nothing else."""
    assert bhyve.processes() == ("ps", "-ax", "-ww", "-o", "pid=,command=")
    out = ("    1 /sbin/init --\n"
           " 4711 bhyve: web\n"
           " 4712 bhyve: web2\n"
           " 4713 /usr/sbin/bhyveload -m 512M -d /dev/zvol/t/hv/vm/web/disks/d web\n"
           " 4714 grub-bhyve -m /tmp/map -r hd0 -M 512M web\n"
           " 4715 vi web\n"
           " 4716 bhyve: webx\n")
    assert bhyve.vm_owners(out, "web") == [
        (4711, "bhyve: web"),
        (4713, "/usr/sbin/bhyveload -m 512M -d /dev/zvol/t/hv/vm/web/disks/d web"),
        (4714, "grub-bhyve -m /tmp/map -r hd0 -M 512M web")]
    assert bhyve.vm_owners(out, "db") == []


def test_what_a_loader_can_boot() -> None:
    def vm(body: str) -> specs.VmSpec:
        return specs.read_vm(vm_el(f"<name>v</name>{body}"))

    bsd = "<loader><type>bhyveload</type></loader>"
    assert not bhyve.bootable(vm(bsd))
    assert bhyve.bootable(vm(bsd + "<install-iso>/iso/x.iso</install-iso>"))
    assert not bhyve.bootable(vm(bsd + "<install-iso>/iso/x.iso</install-iso>"),
                              with_iso=False)
    assert bhyve.bootable(vm(bsd + "<disk><name>d</name><size>1G</size></disk>"),
                          with_iso=False)
    assert bhyve.bootable(vm(""), with_iso=False)  # UEFI boots its firmware


def test_refusals() -> None:
    spec = specs.read_vm(vm_el(WEB))
    with pytest.raises(ValueError, match="1 NICs but 0 taps"):
        bhyve.bhyve(spec, taps=[], zfs_parent="t/hv", vm_dir="/hv/vm/web")
    empty = specs.read_vm(vm_el("<name>e</name><loader><type>bhyveload</type></loader>"))
    with pytest.raises(ValueError, match="nothing to boot"):
        bhyve.bhyveload(empty, zfs_parent="t/hv")
    with pytest.raises(ValueError, match="nothing to boot"):
        bhyve.grub_device_map(empty, zfs_parent="t/hv")


# Issue 20 items 5 and 6: the CPU topology, pinning, wired memory, the flags as leaves, the
# entropy device, COM2 and extra flags. Forms from bhyve(8) of FreeBSD 14: SYNOPSIS
# `[-AaCDeHhPSuWwxY] [-c [[cpus=]numcpus][,sockets=n][,cores=n][,threads=n]] ... [-p
# vcpu:hostcpu]`, `-l com2,<dev>` (lpcdev com1-com4), `-s <slot>,virtio-rnd`.
GUEST = """
<name>big</name><cpu>8</cpu><memory>4096</memory>
<uuid>3f2c1a00-1111-4222-8333-444455556666</uuid>
<cpu-topology><sockets>2</sockets><cores>2</cores><threads>2</threads></cpu-topology>
<cpu-pin><vcpu>0</vcpu><host-cpu>2</host-cpu></cpu-pin>
<cpu-pin><vcpu>1</vcpu><host-cpu>3</host-cpu></cpu-pin>
<memory-wired>true</memory-wired><acpi>false</acpi><yield-on-hlt>false</yield-on-hlt>
<exit-on-pause>false</exit-on-pause><ignore-unknown-msr>false</ignore-unknown-msr>
<utc-clock>false</utc-clock><virtio-rnd>true</virtio-rnd><com2>nmdm</com2>
<bhyve-option>-x</bhyve-option><bhyve-option>-Y</bhyve-option>
<loader><type>uefi</type><uefi-vars>false</uefi-vars></loader>
<nic><name>nic0</name><network>lan</network><mac>58:9c:fc:0a:bc:de</mac></nic>
"""


def test_guest_details_every_new_option() -> None:
    spec = specs.read_vm(vm_el(GUEST))
    argv = bhyve.bhyve(spec, taps=["tap3"], zfs_parent="tank/hv", vm_dir="/hv/vm/big")
    assert " ".join(argv) == (
        "bhyve -c cpus=8,sockets=2,cores=2,threads=2 -m 4096M -S -p 0:2 -p 1:3 "
        "-U 3f2c1a00-1111-4222-8333-444455556666 -s 0,hostbridge "
        "-s 4,virtio-net,tap3,mac=58:9c:fc:0a:bc:de -s 20,virtio-rnd -s 31,lpc "
        "-l com1,/dev/nmdm-big.1A -l com2,/dev/nmdm-big.2A "
        "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI.fd -x -Y big")
    # the running size is read back from -c cpus=N,...
    launch = bhyve.launch(spec, {"lan": 1500})
    assert bhyve.launched_size(launch) == (8, 4096)


def test_topology_default_sockets_only_when_absent() -> None:
    """A topology left at its defaults is still passed in full once the container exists."""
    spec = specs.read_vm(vm_el("<name>t</name><cpu>1</cpu><cpu-topology/>"))
    assert bhyve.cpus(spec) == "cpus=1,sockets=1,cores=1,threads=1"
    assert bhyve.cpus(specs.vm_defaults("t")) == "1"


def test_wired_memory_reaches_the_loaders() -> None:
    """bhyveload(8) and grub-bhyve take -S as bhyve does, so the memory they set up is wired."""
    spec = specs.read_vm(vm_el(
        "<name>fb</name><memory-wired>true</memory-wired><loader><type>bhyveload</type>"
        "</loader><console>none</console><disk><name>d0</name><size>1G</size></disk>"))
    assert bhyve.bhyveload(spec, zfs_parent="tank/hv") == (
        "bhyveload", "-m", "512M", "-S", "-d", "/dev/zvol/tank/hv/vm/fb/disks/d0",
        "-e", "bhyve_vm_name=fb", "-e", f"smbios.system.uuid={names.vm_uuid('fb')}", "fb")
    grub = specs.read_vm(vm_el(
        "<name>lx</name><memory-wired>true</memory-wired><loader><type>grub</type></loader>"
        "<console>none</console><disk><name>d0</name><size>1G</size></disk>"))
    assert bhyve.grub_bhyve(grub, device_map="/m") == (
        "grub-bhyve", "-m", "/m", "-r", "hd0,msdos1", "-M", "512M", "-S", "lx")


def test_a_changed_flag_leaf_needs_a_restart() -> None:
    """The restart decision compares launch argv, so every new leaf takes part in it."""
    base = specs.read_vm(vm_el(GUEST))
    running = bhyve.launch(base, {"lan": 1500})
    for body in ("<virtio-rnd>false</virtio-rnd>", "<acpi>true</acpi>", "<com2>none</com2>"):
        tag = body[1:body.index(">")]
        changed = GUEST.replace(GUEST[GUEST.index(f"<{tag}>"):GUEST.index(f"</{tag}>")
                                      + len(tag) + 3], body)
        assert bhyve.needs_restart(running, specs.read_vm(vm_el(changed)), {"lan": 1500})
    assert not bhyve.needs_restart(running, base, {"lan": 1500})


DEVICES = """
<name>nas</name><uuid>12345678-1234-4234-8234-123456789abc</uuid><loader><type>grub</type>
</loader><disk><name>sys</name><size>8G</size></disk>
<disk><name>data</name><device>/dev/da3</device></disk>
<disk><name>old</name><device>/dev/zvol/tank/legacy/vol0</device><emulation>ahci-hd</emulation>
</disk>
"""


def test_existing_devices_are_handed_to_bhyve_as_they_are() -> None:
    """bhyve(8): `-s slot,virtio-blk,path` opens any block device or file as the backing
    store; an existing device's path goes there instead of a zvol's (issue 19, item 5)."""
    spec = specs.read_vm(vm_el(DEVICES))
    assert [(d.name, d.zvol, d.size) for d in spec.disks] == [
        ("sys", True, "8G"), ("data", False, None), ("old", False, None)]
    argv = bhyve.bhyve(spec, taps=[], zfs_parent="zroot/hv", vm_dir="/hv/vm/nas")
    assert " ".join(argv) == (
        "bhyve -c 1 -m 512M -A -H -P -w -u -U 12345678-1234-4234-8234-123456789abc "
        "-s 0,hostbridge "
        "-s 4,virtio-blk,/dev/zvol/zroot/hv/vm/nas/disks/sys "
        "-s 5,virtio-blk,/dev/da3 "
        "-s 6,ahci-hd,/dev/zvol/tank/legacy/vol0 "
        "-s 31,lpc -l com1,/dev/nmdm-nas.1A nas")
    assert bhyve.grub_device_map(spec, zfs_parent="zroot/hv") == (
        "(hd0) /dev/zvol/zroot/hv/vm/nas/disks/sys\n(hd1) /dev/da3\n"
        "(hd2) /dev/zvol/tank/legacy/vol0\n")


def test_graphics_fbuf_and_tablet_as_bhyve_8_writes_them() -> None:
    """bhyve(8) fbuf: tcp=IP:PORT (an IPv6 address in brackets), w=, h=, vga=, wait; the xhci
    tablet beside it; slots 29 and 30, clear of disks and NICs."""
    spec = specs.read_vm(vm_el(WEB + "<graphics/>"))
    argv = " ".join(bhyve.bhyve(spec, taps=["tap3"], zfs_parent="tank/hv", vm_dir="/v",
                                vnc_port=5901))
    assert "-s 29,fbuf,tcp=127.0.0.1:5901,w=1024,h=768,vga=io -s 30,xhci,tablet -s 31,lpc" \
        in argv
    spec = specs.read_vm(vm_el(WEB + "<graphics><listen>::1</listen><port>5999</port>"
                                     "<width>1920</width><height>1200</height><vga>off</vga>"
                                     "<wait>true</wait></graphics>"))
    argv = " ".join(bhyve.bhyve(spec, taps=["tap3"], zfs_parent="tank/hv", vm_dir="/v",
                                vnc_port=5901))  # a port of its own wins
    assert "-s 29,fbuf,tcp=[::1]:5999,w=1920,h=1200,vga=off,wait -s 30,xhci,tablet" in argv
    assert bhyve.vnc_address(argv.split()) == "[::1]:5999"
    # a restart decision does not depend on the port a start happened to be given
    auto = specs.read_vm(vm_el(WEB + "<graphics/>"))
    assert "tcp=127.0.0.1:auto" in " ".join(bhyve.launch(auto, {"lan": 1500}).commands[-1])
    assert bhyve.vnc_address(["bhyve", "-s", "4,virtio-blk,/dev/x", "web"]) is None


def test_passthru_shares_and_tpm_as_bhyve_8_writes_them() -> None:
    """§19: passthru devices then 9p shares from slot 22, the TPM as an -l device."""
    spec = specs.read_vm(vm_el(WEB + "<passthru><device>3/0/0</device></passthru>"
                                     "<passthru><device>4/0/1</device></passthru>"
                                     "<share><name>src</name><path>/usr/src</path>"
                                     "<read-only>true</read-only></share>"
                                     "<share><name>data</name><path>/tank/data</path></share>"
                                     "<tpm/>"))
    argv = " ".join(bhyve.bhyve(spec, taps=["tap3"], zfs_parent="tank/hv", vm_dir="/v"))
    assert ("-s 22,passthru,3/0/0 -s 23,passthru,4/0/1 -s 24,virtio-9p,src=/usr/src,ro "
            "-s 25,virtio-9p,data=/tank/data -s 31,lpc") in argv
    assert argv.endswith("-l tpm,passthru,/dev/tpm0 web")


def test_pciconf_names_the_devices_ppt_holds() -> None:
    from hvd_netconf.host import pci

    assert pci.list_devices() == ("pciconf", "-l")
    text = ("hostb0@pci0:0:0:0:\tclass=0x060000 rev=0x00 hdr=0x00 vendor=0x8086\n"
            "ppt0@pci0:3:0:0:\tclass=0x020000 rev=0x01 hdr=0x00 vendor=0x8086\n"
            "ppt1@pci0:130:0:1:\tclass=0x030000 rev=0xa1 hdr=0x00 vendor=0x10de\n"
            "em0@pci0:0:25:0:\tclass=0x020000 rev=0x10 hdr=0x00 vendor=0x8086\n")
    assert pci.reserved(text) == {"3/0/0", "130/0/1"}


def test_the_guest_agents_port() -> None:
    """bhyve(8): `-s <slot>,virtio-console,<port>=<path>[,...]`, each named port a Unix socket
    bhyve listens on; the QEMU guest agent's port is org.qemu.guest_agent.0."""
    spec = specs.read_vm(vm_el("<name>qa</name><cpu>1</cpu><memory>256</memory>"
                               "<guest-agent>true</guest-agent>"))
    argv = bhyve.bhyve(spec, taps=[], zfs_parent="tank/hv", vm_dir="/hv/vm/qa")
    assert " ".join(argv) == (
        "bhyve -c 1 -m 256M -A -H -P -w -u -U " + spec.smbios_uuid + " -s 0,hostbridge "
        "-s 2,virtio-console,org.qemu.guest_agent.0=/hv/vm/qa/qga.sock -s 31,lpc "
        "-l com1,/dev/nmdm-qa.1A "
        "-l bootrom,/usr/local/share/uefi-firmware/BHYVE_UEFI_CODE.fd,/hv/vm/qa/uefi-vars.fd qa")
