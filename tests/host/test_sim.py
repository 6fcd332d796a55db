"""The simulated host refuses what FreeBSD refuses, with FreeBSD-like stderr and exit status.

These tests check the simulation itself; nothing here says a real host behaves this way beyond
what freebsd-host.md states.
"""

import json
import os

import pytest

from hvd_netconf.host import ifconfig, zfs
from hvd_netconf.host.backend import CommandFailed, Host, select_backend
from hvd_netconf.host.sim import SimHost


@pytest.fixture
def sim(tmp_path):
    return SimHost(tmp_path)


def fails(host, argv, code=1):
    with pytest.raises(CommandFailed) as e:
        host.run(argv)
    assert e.value.argv == tuple(argv) and e.value.returncode == code
    return e.value.stderr.strip()


def test_sim_says_it_is_simulated(tmp_path, caplog):
    caplog.set_level("WARNING")
    host = select_backend("sim", tmp_path)
    assert isinstance(host, Host) and host.simulated and host.name == "sim"
    assert any("SIMULATED" in r.message for r in caplog.records)


def test_auto_picks_sim_off_freebsd(tmp_path):
    assert select_backend("auto", tmp_path).name == "sim"


def test_zfs_create_refusals(sim):
    assert fails(sim, ("zfs", "create", "/hv/vm/x")) == (
        "cannot create '/hv/vm/x': leading slash in name")
    assert fails(sim, ("zfs", "create", "zroot/hv/vm")) == (
        "cannot create 'zroot/hv/vm': parent does not exist")
    assert fails(sim, ("zfs", "create", "tank/x")) == "cannot create 'tank/x': no such pool 'tank'"
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    assert fails(sim, ("zfs", "create", "zroot/hv")) == (
        "cannot create 'zroot/hv': dataset already exists")
    sim.run(zfs.create_root("zroot/hv", "/hv"))  # -p and existing: success, as zfs does
    assert fails(sim, ("zfs", "create", "-V", "1000", "zroot/hv/v")) == (
        "cannot create 'zroot/hv/v': volume size must be a multiple of volume block size")
    assert fails(sim, ("zfs", "create", "-s", "zroot/hv/fs"), code=2).startswith("'-s'")


def test_zfs_tree_properties_and_destroy(sim):
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(zfs.create_filesystem("zroot/hv/vm", "vms"))
    sim.run(("zfs", "create", "zroot/hv/vm/plain"))
    sim.run(zfs.create_zvol("zroot/hv/vm/plain/d0", "1G", volblocksize="8K"))
    listed = zfs.parse_list(sim.run(zfs.list_tree("zroot/hv")))
    assert listed["zroot/hv/vm/plain/d0"].volsize == 1 << 30
    # user properties are inherited, so only -s local tells whose a dataset is
    assert listed["zroot/hv/vm/plain"].owner == "hvd"
    assert sim.run(zfs.owner_check("zroot/hv/vm/plain")) == "-\n"
    assert sim.run(zfs.owner_check("zroot/hv/vm/plain/d0")) == "hvd\n"
    assert sim.run(("zfs", "get", "-H", "-o", "value", "mountpoint", "zroot/hv/vm/plain")) == (
        "/hv/vm/plain\n")
    assert sim.zvol_file("zroot/hv/vm/plain/d0").stat().st_size == 1 << 30
    sim.run(zfs.set_volsize("zroot/hv/vm/plain/d0", "2G"))
    assert sim.zvol_file("zroot/hv/vm/plain/d0").stat().st_size == 2 << 30
    assert "filesystem has children" in fails(sim, zfs.destroy("zroot/hv/vm/plain"))
    sim.run(zfs.destroy("zroot/hv/vm/plain", recursive=True))
    assert not sim.zvol_file("zroot/hv/vm/plain/d0").exists()
    assert fails(sim, zfs.destroy("zroot/hv/vm/plain")) == (
        "cannot open 'zroot/hv/vm/plain': dataset does not exist")


def test_interface_refusals(sim):
    assert sim.run(ifconfig.bridge_create("hv-lan", "hvd:net/lan")) == "hv-lan\n"
    assert sim.run(ifconfig.tap_create()) == "tap0\n"
    assert sim.run(ifconfig.tap_create()) == "tap1\n"
    assert fails(sim, ("ifconfig", "hv-abcdefghijklm", "up")) == (
        "ifconfig: interface name 'hv-abcdefghijklm' is too long")
    assert fails(sim, ("ifconfig", "bridge", "create", "name", "hv-abcdefghijklm")) == (
        "ifconfig: ioctl SIOCSIFNAME (set name): File name too long")
    assert fails(sim, ifconfig.bridge_addm("hv-lan", "em7")) == (
        "ifconfig: BRDGADD em7: No such file or directory")
    sim.run(ifconfig.bridge_addm("hv-lan", "tap0"))
    assert fails(sim, ifconfig.bridge_addm("hv-lan", "tap0")) == (
        "ifconfig: BRDGADD tap0: File exists")
    sim.run(ifconfig.bridge_create("hv-dmz", "hvd:net/dmz"))
    assert fails(sim, ifconfig.bridge_addm("hv-dmz", "tap0")) == (
        "ifconfig: BRDGADD tap0: Device busy")
    assert fails(sim, ifconfig.destroy("tap9")) == "ifconfig: interface tap9 does not exist"
    assert fails(sim, ifconfig.set_fib("hv-lan", 4)) == (
        "ifconfig: ioctl (SIOCSIFFIB): Invalid argument")
    sim.run(ifconfig.set_fib("hv-lan", 3))
    assert fails(sim, ifconfig.destroy("em0")) == "ifconfig: SIOCIFDESTROY: Invalid argument"
    # bridge MTU must match its members
    assert fails(sim, ifconfig.set_mtu("hv-lan", 9000)) == (
        "ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument")
    assert sim.run(ifconfig.list_group()) == "hv-dmz\nhv-lan\n"
    sim.run(ifconfig.destroy("hv-lan"))
    assert sim.run(ifconfig.tap_create()) == "tap2\n"


def test_create_then_rename_leaves_the_kernel_named_bridge(sim):
    """ifconfig creates bridgeN, then fails the rename: FreeBSD keeps bridgeN, so does the sim."""
    sim.run(ifconfig.bridge_create("hv-lan", "x"))
    assert "File exists" in fails(sim, ifconfig.bridge_create("hv-lan", "x"))
    assert "bridge0" in sim.state()["interfaces"]


def test_vlans(sim):
    assert sim.run(ifconfig.vlan_create("em0", 100)) == "em0.100\n"
    assert fails(sim, ifconfig.vlan_create("em0", 100)) == (
        "ifconfig: SIOCIFCREATE2 (vlan): File exists")
    assert "No such file" in fails(sim, ifconfig.vlan_create("em5", 100))
    assert fails(sim, ifconfig.set_mtu("em0.100", 9000)) == (
        "ifconfig: ioctl SIOCSIFMTU (set mtu): Invalid argument")  # above its parent's MTU
    vlan = sim.state()["interfaces"]["em0.100"]
    assert (vlan["vlandev"], vlan["vlan"], vlan["up"]) == ("em0", 100, True)


def test_sysctl_and_vmm(sim):
    assert sim.sysctl("net.fibs") == "4"
    assert fails(sim, ("sysctl", "-n", "no.such")) == "sysctl: unknown oid 'no.such'"
    assert fails(sim, ("bhyvectl", "--vm=web", "--destroy")) == (
        "vm_open: web could not be opened: No such file or directory")
    sim.run(("bhyvectl", "--vm=web", "--create"))
    assert sim.vmm_instances() == {"web"}
    sim.run(("bhyvectl", "--vm=web", "--destroy"))
    assert sim.vmm_instances() == set()


def test_fibs_are_configurable(tmp_path):
    host = SimHost(tmp_path, sysctls={"net.fibs": "8"})
    host.run(ifconfig.bridge_create("hv-x", "x"))
    host.run(ifconfig.set_fib("hv-x", 7))


@pytest.mark.parametrize("argv", [("ls", "/"), ("zfs", "snapshot", "zroot@x"),
                                  ("ifconfig", "em0", "inet", "10.0.0.1/24"), ("route", "add")])
def test_unknown_commands_fail_loudly(sim, argv):
    assert "not simulated" in fails(sim, argv, code=127)


def test_faults_are_persisted_and_fire_once(tmp_path):
    first = SimHost(tmp_path)
    first.inject_fault(("zfs", "create"), "cannot create: out of space", code=1)
    other = SimHost(tmp_path)  # another process would open the same files
    with pytest.raises(CommandFailed) as e:
        other.run(zfs.create_root("zroot/hv", "/hv"))
    assert e.value.stderr == "cannot create: out of space"
    assert "zroot/hv" not in other.state()["datasets"]
    first.run(zfs.create_root("zroot/hv", "/hv"))
    first.inject_fault(("ifconfig",), "boom", code=3, once=False)
    for _ in range(2):
        assert fails(first, ifconfig.up("em0"), code=3) == "boom"
    first.clear_faults()
    first.run(ifconfig.up("em0"))


def test_state_file_is_replaced_atomically(sim):
    sim.run(ifconfig.tap_create())
    files = sorted(os.listdir(sim.dir))
    assert not [f for f in files if f.endswith(".tmp")]
    assert "tap0" in json.loads(sim.state_path.read_text())["interfaces"]


def test_process_matches_only_a_standin_for_that_vm(sim):
    assert not sim.process_matches(os.getpid(), "web")
    assert not sim.process_matches(2**22 + 12345, "web")
