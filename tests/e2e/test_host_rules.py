"""Issue 16 items 5-9, issue 17 item 8: what FreeBSD would refuse or misread is refused at
validation, over the wire, by <validate>, <commit> and <edit-config> on running alike, with the
reason in the operator's words and the path of the leaf; the simulated host, running and the
files under the root are as they were."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from e2e.helpers import (
    SIM_FILES,
    config,
    guest_ready,
    network_xml,
    running_xml,
    sim_bytes,
    sim_state,
    standin,
    start_vm,
    stop_vm,
    tree_digest,
    vm_state,
    vm_xml,
)
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.host.sim.host import SimHost

NET = "/hvd-net:networks/hvd-net:network[hvd-net:name='{}']/hvd-net:{}"
VMP = "/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='{}']/"


def nic_vm(name: str, mac: str, network: str = "lan") -> str:
    return (f"<vm><name>{name}</name><nic><name>n0</name><network>{network}</network>"
            f"<mac>{mac}</mac></nic></vm>")


@dataclass
class Case:
    change: str  # the <config> of the change
    path: str
    message: str
    base: str = ""  # committed first
    uplink_mtu: int | None = None  # em0's MTU on the host before the change


def forward_case(proto: str, port: int, guest: str, message: str) -> Case:
    """A NAT network lan of 10.0.0.1/24 forwarding proto/port to guest."""
    forward = (f"<forward><protocol>{proto}</protocol><host-port>{port}</host-port>"
               f"<guest-address>{guest}</guest-address></forward>")
    return Case(config(networks=network_xml(
        "lan", addresses=("10.0.0.1/24",),
        extra="<nat>em0</nat><ip-forwarding>true</ip-forwarding>" + forward)),
        NET.format("lan", f"forward[hvd-net:protocol='{proto}'][hvd-net:host-port='{port}']"
                          "/hvd-net:guest-address"), message)


CASES = {
    "fib-at-net.fibs": Case(config(networks=network_xml("lan", fib=4)),
                            NET.format("lan", "fib"),
                            "network lan: FIB 4 does not exist on this host, which has "
                            "net.fibs=4 (FIBs 0 to 3)"),
    "mac-multicast": Case(config(networks=network_xml("lan"),
                                 vms=nic_vm("web", "01:00:5e:00:00:01")),
                          VMP.format("web") + "hvd-vm:nic[hvd-vm:name='n0']/hvd-vm:mac",
                          "NIC n0 of VM web: bhyve refuses MAC 01:00:5e:00:00:01: it is a "
                          "multicast address"),
    "mac-broadcast": Case(config(networks=network_xml("lan"),
                                 vms=nic_vm("web", "FF:FF:FF:FF:FF:FF")),
                          VMP.format("web") + "hvd-vm:nic[hvd-vm:name='n0']/hvd-vm:mac",
                          "bhyve refuses MAC ff:ff:ff:ff:ff:ff: it is a multicast address"),
    "mac-zero": Case(config(networks=network_xml("lan"),
                            vms=nic_vm("web", "00:00:00:00:00:00")),
                     VMP.format("web") + "hvd-vm:nic[hvd-vm:name='n0']/hvd-vm:mac",
                     "bhyve refuses MAC 00:00:00:00:00:00: the all-zero address"),
    "iso-comma": Case(config(vms=vm_xml("win", extra="<install-iso>/isos/win,2022.iso"
                                                     "</install-iso>")),
                      VMP.format("win") + "hvd-vm:install-iso",
                      "install ISO /isos/win,2022.iso of VM win has a comma: bhyve would take "
                      "the text after it as a device option"),
    "iso-blank-grub": Case(config(vms=vm_xml("deb", extra="<loader><type>grub</type></loader>"
                                                          "<install-iso>/isos/debian 12.iso"
                                                          "</install-iso>")),
                           VMP.format("deb") + "hvd-vm:install-iso",
                           "install ISO /isos/debian 12.iso of VM deb has a blank: grub-bhyve's "
                           "device.map ends a file name at the first blank"),
    "grow-not-multiple": Case(
        config(vms="<vm><name>db</name><disk><name>d0</name><size>21474840576</size></disk>"
                   "</vm>"),
        VMP.format("db") + "hvd-vm:disk[hvd-vm:name='d0']/hvd-vm:size",
        "disk d0 of VM db cannot grow to 21474840576: ZFS sets a volume's size only to a "
        "multiple of its volblocksize 16K",
        base=config(vms="<vm><name>db</name><disk><name>d0</name><size>20G</size>"
                        "<volblocksize>16K</volblocksize></disk></vm>")),
    "vlan-mtu-above-parent": Case(config(networks=network_xml("lan", phys="em0", vlan=7,
                                                              mtu=9000)),
                                  NET.format("lan", "mtu"),
                                  "network lan: MTU 9000 is above the 1500 of em0; a VLAN's MTU "
                                  "cannot exceed its parent's"),
    "vlan-name-too-long": Case(config(networks=network_xml("lan", phys="averylongname0",
                                                           vlan=7)),
                               NET.format("lan", "vlan"),
                               "network lan: the VLAN interface averylongname0.7 would have 16 "
                               "characters; FreeBSD allows at most 15"),
    "uplink-in-another-network": Case(config(networks=network_xml("dmz", phys="em0")),
                                      NET.format("dmz", "physical-interface"),
                                      "network dmz: em0 is already the uplink of network lan; "
                                      "an interface can be a member of one bridge only",
                                      base=config(networks=network_xml("lan", phys="em0"))),
    "jumbo-uplink-default-mtu": Case(config(networks=network_xml("lan", phys="em0")),
                                     NET.format("lan", "mtu"),
                                     "network lan: uplink em0 runs MTU 9000, and a bridge takes "
                                     "its uplink's MTU, so the network would run 9000, not 1500",
                                     uplink_mtu=9000),
    "jumbo-uplink-default-mtu-vlan": Case(config(networks=network_xml("lan", phys="em0",
                                                                      vlan=7)),
                                          NET.format("lan", "mtu"),
                                          "network lan: uplink em0 runs MTU 9000",
                                          uplink_mtu=9000),
    # issue 24 item 1: addresses on a network's bridge
    "address-ipv4-broadcast": Case(
        config(networks=network_xml("lan", addresses=("10.0.0.255/24",))),
        NET.format("lan", "address[.='10.0.0.255/24']"),
        "network lan: address 10.0.0.255/24 cannot be the host's: it is the broadcast address "
        "of 10.0.0.0/24; use an address between 10.0.0.1 and 10.0.0.254"),
    "address-ipv6-anycast": Case(
        config(networks=network_xml("lan", addresses=("fd00:1::/64",))),
        NET.format("lan", "address[.='fd00:1::/64']"),
        "network lan: address fd00:1::/64 cannot be the host's: it is the subnet-router "
        "anycast address of fd00:1::/64; use fd00:1::1"),
    "address-twice": Case(
        config(networks=network_xml("lan", addresses=("10.0.0.1/24", "10.0.0.1/25"))),
        NET.format("lan", "address[.='10.0.0.1/25']"),
        "network lan: address 10.0.0.1 is given twice (10.0.0.1/24 and 10.0.0.1/25)"),
    "address-on-another-network": Case(
        config(networks=network_xml("dmz", addresses=("10.0.0.1/24",), fib=1)),
        NET.format("dmz", "address[.='10.0.0.1/24']"),
        "network dmz: address 10.0.0.1 is already the host's on network lan (10.0.0.1/24)",
        base=config(networks=network_xml("lan", addresses=("10.0.0.1/24",)))),
    "address-prefix-overlaps": Case(
        config(networks=network_xml("dmz", addresses=("10.0.0.129/25",))),
        NET.format("dmz", "address[.='10.0.0.129/25']"),
        "network dmz: prefix 10.0.0.128/25 overlaps 10.0.0.0/24 of network lan in FIB 0; "
        "their routes would clash",
        base=config(networks=network_xml("lan", addresses=("10.0.0.1/24",)))),
    "forward-outside-the-network": forward_case(
        "tcp", 8080, "10.0.1.5", "network lan: the forward of tcp port 8080 goes to 10.0.1.5, "
        "which is outside the network's prefixes (10.0.0.0/24)"),
    "forward-to-the-host": forward_case(
        "udp", 53, "10.0.0.1", "network lan: the forward of udp port 53 goes to 10.0.0.1, the "
        "host's own address"),
    "nat-through-the-uplink": Case(
        config(networks=network_xml("lan", phys="em1", addresses=("10.0.0.1/24",),
                                    extra="<nat>em1</nat><ip-forwarding>true</ip-forwarding>")),
        NET.format("lan", "nat"),
        "network lan: em1 is the network's own uplink, a port of its bridge; NAT goes out "
        "through another interface"),
    "nat-without-forwarding": Case(
        config(networks=network_xml("lan", addresses=("10.0.0.1/24",),
                                    extra="<nat>em0</nat>")),
        NET.format("lan", "nat"),
        "network lan: NAT needs IPv4 forwarding, which is off on this host "
        "(net.inet.ip.forwarding=0): set ip-forwarding on the network, or "
        'gateway_enable="YES" in /etc/rc.conf'),
    # issue 20 item 5: the sim reports hw.ncpu=4, so host CPU 4 does not exist
    "pin-beyond-hw.ncpu": Case(
        config(vms=vm_xml("big", extra="<cpu>2</cpu><cpu-pin><vcpu>1</vcpu>"
                                       "<host-cpu>4</host-cpu></cpu-pin>")),
        VMP.format("big") + "hvd-vm:cpu-pin[hvd-vm:vcpu='1']/hvd-vm:host-cpu",
        "VM big: vCPU 1 is pinned to host CPU 4, but this host has 4 CPUs (hw.ncpu=4, CPUs 0 "
        "to 3)"),
    # issue 20 item 6: a flag hvd sets from a leaf, and one outside the allow-list
    "bhyve-option-owned": Case(
        config(vms=vm_xml("web", extra="<bhyve-option>-x</bhyve-option>"
                                       "<bhyve-option>-c</bhyve-option>")),
        VMP.format("web") + "hvd-vm:bhyve-option",
        "bhyve-option -c of VM web: hvd sets -c itself from cpu and cpu-topology; set that "
        "instead"),
    "bhyve-option-not-allowed": Case(
        config(vms=vm_xml("web", extra="<bhyve-option>-D</bhyve-option>")),
        VMP.format("web") + "hvd-vm:bhyve-option",
        "bhyve-option -D of VM web is not allowed: hvd passes only -C, -e, -W, -x, -Y"),
}


def refusal(ei: pytest.ExceptionInfo[RPCError]) -> tuple[str, str, str]:
    errs = getattr(ei.value, "errors", None) or [ei.value]
    assert len(errs) == 1, [e.message for e in errs]
    return errs[0].tag, errs[0].path, errs[0].message


@pytest.mark.parametrize("name", sorted(CASES))
def test_refused_before_the_host_changes(vmhvd: HvdInstance, name: str) -> None:
    case = CASES[name]
    root = vmhvd.root
    m = vmhvd.connect_uds()
    if case.base:
        m.edit_config(case.base, target="running")
    if case.uplink_mtu:
        SimHost(root).run(("ifconfig", "em0", "mtu", str(case.uplink_mtu)))
    host, running, files = sim_bytes(root), running_xml(m), tree_digest(root, SIM_FILES)

    with pytest.raises(RPCError) as ei:
        m.edit_config(case.change, target="running")
    tag, path, message = refusal(ei)
    assert (tag, path) == ("invalid-value", case.path), message
    assert case.message in message
    assert tree_digest(root, SIM_FILES) == files  # not a byte written under the root

    m.edit_config(case.change, target="candidate")
    for attempt in (lambda: m.validate(source="candidate"), m.commit):
        with pytest.raises(RPCError) as ei:
            attempt()
        assert refusal(ei) == (tag, path, message)
    assert sim_bytes(root) == host
    assert running_xml(m) == running


def test_what_the_host_accepts_still_commits(vmhvd: HvdInstance) -> None:
    """The neighbours of the refusals: a FIB below net.fibs, a unicast MAC, a blank in a UEFI
    guest's ISO (no device.map), a grown disk on a 16K boundary, a jumbo uplink whose network
    says so, a VLAN at its parent's MTU."""
    root = vmhvd.root
    m = vmhvd.connect_uds()
    # em0 runs 1500 now: the VLAN's 9000 is fine because lan raises em0 to 9000 first.
    m.edit_config(config(
        networks=(network_xml("lan", phys="em0", mtu=9000, fib=3)
                  + network_xml("v7", phys="em0", vlan=7, mtu=9000)),
        vms=(nic_vm("web", "02:00:00:00:00:01")
             + vm_xml("win", extra="<install-iso>/isos/win 2022.iso</install-iso>")
             + "<vm><name>db</name><disk><name>d0</name><size>20G</size></disk></vm>")),
        target="running")
    m.edit_config(config(vms="<vm><name>db</name><disk><name>d0</name>"
                             "<size>21474852864</size></disk></vm>"), target="running")
    ifs = sim_state(root)["interfaces"]
    assert (ifs["hv-lan"]["fib"], ifs["hv-lan"]["mtu"], ifs["em0.7"]["mtu"]) == (3, 9000, 9000)
    ds = sim_state(root)["datasets"]["zroot/hv/vm/db/disks/d0"]
    assert ds["props"]["volsize"] == "21474852864"
    m.validate(source="running")
    # Back to the default MTU: em0 runs 9000 now, but hvd set it and restores it, so this
    # (and a confirmed commit's revert, which is the same change) is not refused.
    m.edit_config(config(networks=network_xml("v7", op="delete")), target="running")
    m.edit_config(config(networks='<network><name>lan</name><mtu xc:operation="delete"/>'
                                  "</network>"), target="running")
    ifs = sim_state(root)["interfaces"]
    assert (ifs["em0"]["mtu"], ifs["hv-lan"]["mtu"]) == (1500, 1500)


def test_a_size_above_2_64_bytes_is_refused_by_the_model(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    for size in ("9999999999999T", "10000000T", "99999999999G"):
        with pytest.raises(RPCError) as ei:
            m.edit_config(config(vms=vm_xml("big", disks={"d0": size})), target="candidate")
        tag, path, message = refusal(ei)
        assert tag == "invalid-value"
        assert path == VMP.format("big") + "hvd-vm:disk[hvd-vm:name='d0']/hvd-vm:size"
        assert "below the 2^64 bytes a zvol can hold" in message
    m.edit_config(config(vms=vm_xml("big", disks={"d0": "9999999T"})), target="candidate")
    m.validate(source="candidate")


def test_a_1000t_disk_is_sparse_and_a_thick_one_runs_out_of_space(vmhvd: HvdInstance) -> None:
    """Issue 17.8: a 1000T disk is a sparse zvol (hvd's default), which ZFS creates whatever
    the pool holds; a thick one reserves its size and the pool refuses it in zfs's words,
    and the commit leaves the host, running and the files under the root as they were."""
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("big", disks={"d0": "1000T"})), target="running")
    assert sim_state(vmhvd.root)["datasets"]["zroot/hv/vm/big/disks/d0"]["props"][
        "volsize"] == str(1000 << 40)
    host, running = sim_bytes(vmhvd.root), running_xml(m)
    files = tree_digest(vmhvd.root, SIM_FILES)
    thick = vm_xml("fat", extra="<disk><name>d0</name><size>1000T</size>"
                            "<sparse>false</sparse></disk>")
    with pytest.raises(RPCError) as ei:
        m.edit_config(config(vms=thick), target="running")
    assert ei.value.tag == "operation-failed"
    assert "cannot create 'zroot/hv/vm/fat/disks/d0': out of space" in ei.value.message
    assert (sim_bytes(vmhvd.root), running_xml(m)) == (host, running)
    assert tree_digest(vmhvd.root, SIM_FILES) == files


def test_deleting_a_network_in_use_names_its_users(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    m.edit_config(config(networks=network_xml("web"),
                         vms=vm_xml("vm1", nics={"nic0": "web"})
                         + vm_xml("vm2", nics={"nic0": "web"})), target="running")
    host, running = sim_bytes(vmhvd.root), running_xml(m)
    delete = config(networks=network_xml("web", op="delete"))
    message = "network web is used by vm1/nic0, vm2/nic0 but is not in the configuration"
    nic = VMP.format("vm1") + "hvd-vm:nic[hvd-vm:name='nic0']/hvd-vm:network"
    with pytest.raises(RPCError) as ei:
        m.edit_config(delete, target="running")
    assert refusal(ei) == ("data-missing", nic, message)
    m.edit_config(delete, target="candidate")
    for attempt in (lambda: m.validate(source="candidate"), m.commit):
        with pytest.raises(RPCError) as ei:
            attempt()
        assert refusal(ei) == ("data-missing", nic, message)
    assert sim_bytes(vmhvd.root) == host and running_xml(m) == running


YANG_MUSTS = {
    "topology-not-cpu": (
        vm_xml("big", extra="<cpu>6</cpu><cpu-topology><sockets>2</sockets><cores>2</cores>"
                            "</cpu-topology>"),
        VMP.format("big") + "hvd-vm:cpu-topology",
        "sockets x cores x threads of cpu-topology must equal cpu"),
    "pin-vcpu-beyond-cpu": (
        vm_xml("big", extra="<cpu>2</cpu><cpu-pin><vcpu>2</vcpu><host-cpu>0</host-cpu>"
                            "</cpu-pin>"),
        VMP.format("big") + "hvd-vm:cpu-pin[hvd-vm:vcpu='2']/hvd-vm:vcpu",
        "cpu-pin names a virtual CPU the VM does not have: they are numbered from 0 to cpu - 1"),
}


@pytest.mark.parametrize("name", sorted(YANG_MUSTS))
def test_guest_model_musts_refused(vmhvd: HvdInstance, name: str) -> None:
    """Issue 20 item 5: what the model itself rules out, refused by its must with its
    error-message, on running and at validate of the candidate."""
    vm, path, message = YANG_MUSTS[name]
    m = vmhvd.connect_uds()
    running = running_xml(m)
    with pytest.raises(RPCError) as ei:
        m.edit_config(config(vms=vm), target="running")
    assert refusal(ei)[1:] == (path, message)
    m.edit_config(config(vms=vm), target="candidate")
    with pytest.raises(RPCError) as ei:
        m.validate(source="candidate")
    assert refusal(ei)[1:] == (path, message)
    assert running_xml(m) == running


def test_guest_details_accepted_and_run(vmhvd: HvdInstance) -> None:
    """A topology that adds up, pins within hw.ncpu and allowed flags commit, and the started
    guest's command line carries them (bhyve(8)); the running size reads cpus= back."""
    m = vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml(
        "big", extra="<cpu>4</cpu><cpu-topology><sockets>2</sockets><cores>2</cores>"
                     "</cpu-topology><cpu-pin><vcpu>3</vcpu><host-cpu>3</host-cpu></cpu-pin>"
                     "<virtio-rnd>true</virtio-rnd><bhyve-option>-x</bhyve-option>")),
        target="running")
    standin(vmhvd.root, "big")
    start_vm(m, "big")
    guest_ready(vmhvd.root, "big")
    st = vm_state(m, "big")
    argv = Path(f"/proc/{st['pid']}/cmdline").read_bytes().decode().split("\0")
    words = " ".join(argv[argv.index("-c"):])
    assert words.startswith("-c cpus=4,sockets=2,cores=2,threads=1 -m 512M -A -H -P -w -u "
                            "-p 3:3 -U ")
    assert " -s 20,virtio-rnd -s 31,lpc " in words and words.endswith(" -x big ")
    assert st["running-cpu"] == "4"
    stop_vm(m, "big")
