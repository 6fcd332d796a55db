"""Golden argv of the pure builders, written out as zfs(8) and ifconfig(8) give them
(docs/freebsd-facts.md §2.2, §3.2)."""

import pytest

from hvd_netconf.host import ifconfig, names, zfs


def test_bridge_names_fit_ifnamsiz_and_never_collide():
    assert names.bridge_name("lan") == "hv-lan"
    assert names.bridge_name("a" * 12) == "hv-" + "a" * 12
    long1, long2 = names.bridge_name("a" * 13), names.bridge_name("a" * 12 + "b")
    assert len(long1) == 15 and long1.startswith("hvh") and long1 != long2
    assert names.bridge_name("a" * 13) == long1  # deterministic
    many = {names.bridge_name(f"network-number-{i}") for i in range(2000)}
    assert len(many) == 2000 and all(len(n) <= 15 for n in many)
    # a short name can never produce a hashed-looking name: the 3rd character differs
    assert names.bridge_name("h" + "0" * 11)[:3] == "hv-"


def test_mac_in_bhyve_range_and_stable():
    mac = names.mac_address("web", "nic0")
    assert mac == names.mac_address("web", "nic0")
    assert mac != names.mac_address("web", "nic1")
    for i in range(500):
        m = names.mac_address(f"vm{i}", "nic0")
        octets = [int(x, 16) for x in m.split(":")]
        assert octets[:3] == [0x58, 0x9C, 0xFC]
        low = (octets[3] << 16) | (octets[4] << 8) | octets[5]
        assert 1 <= low <= 0x0FFFFF


def test_tap_names_for_netd_are_stable_and_step_on():
    first = names.tap_name("web", "nic0")
    unit = int(first.removeprefix("tap"))
    assert first == names.tap_name("web", "nic0") != names.tap_name("web", "nic1")
    assert names.tap_name("web", "nic0", 1) == f"tap{(unit + 1) % names.TAP_UNITS}"
    assert all(len(names.tap_name(f"vm{i}", "nic0")) <= 15 for i in range(500))


def test_uuid_console_and_dataset_names():
    assert names.vm_uuid("web") == names.vm_uuid("web") != names.vm_uuid("db")
    assert len(names.vm_uuid("web")) == 36
    assert names.console_host_side("web") == "/dev/nmdm-web.1A"
    assert names.console_user_side("web") == "/dev/nmdm-web.1B"
    assert names.vm_dataset("zroot/hv", "web") == "zroot/hv/vm/web"
    assert names.disk_dataset("zroot/hv", "web", "disk0") == "zroot/hv/vm/web/disks/disk0"
    assert names.zvol_device("zroot/hv/vm/web/disks/disk0") == (
        "/dev/zvol/zroot/hv/vm/web/disks/disk0")


@pytest.mark.parametrize("bad", ["/hv", "/hv/vm", "zroot//hv", "zroot/hv/", ""])
def test_mount_paths_are_not_dataset_names(bad):
    with pytest.raises(ValueError):
        names.vm_dataset(bad, "web")


def test_ifconfig_forms():
    assert ifconfig.bridge_create("hv-lan", "hvd:net/lan") == (
        "ifconfig", "bridge", "create", "name", "hv-lan", "descr", "hvd:net/lan",
        "group", "hvd", "up")
    assert ifconfig.bridge_addm("hv-lan", "em0") == ("ifconfig", "hv-lan", "addm", "em0")
    assert ifconfig.bridge_deletem("hv-lan", "tap3") == ("ifconfig", "hv-lan", "deletem", "tap3")
    assert ifconfig.set_fib("hv-lan", 2) == ("ifconfig", "hv-lan", "fib", "2")
    assert ifconfig.set_mtu("hv-lan", 9000) == ("ifconfig", "hv-lan", "mtu", "9000")
    assert ifconfig.vlan_create("em0", 100) == (
        "ifconfig", "vlan", "create", "vlandev", "em0", "vlan", "100", "name", "em0.100", "up")
    assert ifconfig.tap_create() == ("ifconfig", "tap", "create")
    assert ifconfig.create("tap7") == ("ifconfig", "tap7", "create")  # ifconfig(8) create
    assert ifconfig.tap_setup("tap3", "web", "nic0", 1500) == (
        "ifconfig", "tap3", "descr", "hvd:vm/web/nic0", "group", "hvd-port", "up")
    assert ifconfig.tap_setup("tap3", "web", "nic0", 9000) == (
        "ifconfig", "tap3", "descr", "hvd:vm/web/nic0", "group", "hvd-port", "mtu", "9000", "up")
    assert ifconfig.destroy("tap3") == ("ifconfig", "tap3", "destroy")
    assert ifconfig.up("em0") == ("ifconfig", "em0", "up")
    assert ifconfig.list_group() == ("ifconfig", "-g", "hvd")
    assert ifconfig.parse_group("hv-lan\nem0.100\n") == ["hv-lan", "em0.100"]


def test_derived_interface_names_are_checked():
    with pytest.raises(ValueError):
        ifconfig.bridge_create("bridge_averylongname", "x")
    with pytest.raises(ValueError):
        ifconfig.vlan_create("averylongnic0", 4094)  # averylongnic0.4094 is 18 characters


def test_zfs_forms():
    assert zfs.create_root("zroot/hv", "/hv") == (
        "zfs", "create", "-p", "-o", "mountpoint=/hv", "-o", "hvd:owner=hvd",
        "-o", "hvd:role=root", "zroot/hv")
    assert zfs.create_filesystem("zroot/hv/vm/web", "vm") == (
        "zfs", "create", "-o", "hvd:owner=hvd", "-o", "hvd:role=vm", "zroot/hv/vm/web")
    assert zfs.create_zvol("zroot/hv/vm/web/disks/disk0", "20G") == (
        "zfs", "create", "-s", "-V", "20G", "-o", "volmode=dev", "-o", "hvd:owner=hvd",
        "-o", "hvd:role=disk", "zroot/hv/vm/web/disks/disk0")
    assert zfs.create_zvol("p/d", "20G", sparse=False, volblocksize="16K",
                           compression="lz4") == (
        "zfs", "create", "-V", "20G", "-o", "volmode=dev", "-b", "16K",
        "-o", "compression=lz4", "-o", "hvd:owner=hvd", "-o", "hvd:role=disk", "p/d")
    assert zfs.set_volsize("p/d", "40G") == ("zfs", "set", "volsize=40G", "p/d")
    assert zfs.owner_check("p/d") == (
        "zfs", "get", "-H", "-p", "-s", "local", "-o", "value", "hvd:owner", "p/d")
    assert zfs.destroy("p/vm/web", recursive=True) == ("zfs", "destroy", "-r", "p/vm/web")
    assert zfs.list_tree("zroot/hv") == (
        "zfs", "list", "-H", "-p", "-r", "-t", "filesystem,volume",
        "-o", "name,type,volsize,hvd:owner,hvd:role", "zroot/hv")


def test_zfs_list_parse_and_sizes():
    out = "zroot/hv\tfilesystem\t-\thvd\troot\nzroot/hv/vm/w/disks/d\tvolume\t1024\thvd\tdisk\n"
    got = zfs.parse_list(out)
    assert got["zroot/hv"].volsize is None and got["zroot/hv"].role == "root"
    assert got["zroot/hv/vm/w/disks/d"].volsize == 1024
    assert zfs.size_bytes("20G") == 20 << 30
    assert zfs.size_bytes("512") == 512
    with pytest.raises(ValueError):
        zfs.size_bytes("20 GB")


def test_guard_forms_and_their_parsers():
    """What hvd reads before it changes something that may not be its own."""
    assert ifconfig.show("hv-lan") == ("ifconfig", "hv-lan")
    assert ifconfig.down("igb0") == ("ifconfig", "igb0", "down")
    assert ifconfig.parse_state(
        "igb0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 "
        "mtu 9000\n\toptions=4e507bb<RXCSUM,TXCSUM>\n") == ifconfig.LinkState(True, 9000)
    assert ifconfig.parse_state(
        "em1: flags=8802<BROADCAST,SIMPLEX,MULTICAST> metric 0 mtu 1500\n"
    ) == ifconfig.LinkState(False, 1500)
    with pytest.raises(ValueError):
        ifconfig.parse_state("ifconfig: interface em9 does not exist\n")
    assert zfs.owner_tree("tank/hv/vm/web") == (
        "zfs", "get", "-H", "-p", "-r", "-o", "name,value,source", "hvd:owner", "tank/hv/vm/web")
    out = ("tank/hv/vm/web\thvd\tlocal\n"
           "tank/hv/vm/web/disks\thvd\tlocal\n"
           "tank/hv/vm/web/backup\thvd\tinherited from tank/hv/vm/web\n"
           "tank/hv/vm/web/disks/d0@before-upgrade\thvd\tinherited from tank/hv/vm/web\n"
           "tank/hv/vm/web/other\tsomeone\tlocal\n")
    assert zfs.foreign(out) == ["tank/hv/vm/web/backup",
                                "tank/hv/vm/web/disks/d0@before-upgrade",
                                "tank/hv/vm/web/other"]


def test_address_and_capability_forms():
    """ifconfig(8): `inet A/P alias` adds an address, `-alias` removes that one; inet6 alike;
    `-m` lists the driver's capabilities."""
    assert ifconfig.address_add("hv-lan", "10.0.0.1/24") == (
        "ifconfig", "hv-lan", "inet", "10.0.0.1/24", "alias")
    assert ifconfig.address_remove("hv-lan", "10.0.0.1/24") == (
        "ifconfig", "hv-lan", "inet", "10.0.0.1/24", "-alias")
    assert ifconfig.address_add("hv-lan", "fd00:1::1/64") == (
        "ifconfig", "hv-lan", "inet6", "fd00:1::1/64", "alias")
    assert ifconfig.address_remove("hv-lan", "fd00:1::1/64") == (
        "ifconfig", "hv-lan", "inet6", "fd00:1::1/64", "-alias")
    assert ifconfig.capabilities("em0") == ("ifconfig", "-m", "em0")
    out = ("em0: flags=1008843<UP,BROADCAST,RUNNING,SIMPLEX,MULTICAST,LOWER_UP> metric 0 "
           "mtu 1500\n\toptions=4e524bb<RXCSUM,TXCSUM,VLAN_MTU>\n"
           "\tcapabilities=4f507bb<RXCSUM,TXCSUM,VLAN_MTU,VLAN_HWTAGGING,JUMBO_MTU>\n")
    assert ifconfig.parse_capabilities(out) == {
        "RXCSUM", "TXCSUM", "VLAN_MTU", "VLAN_HWTAGGING", "JUMBO_MTU"}
    assert ifconfig.parse_capabilities("re0: flags=8802<BROADCAST> metric 0 mtu 1500\n") == set()


def test_bridge_member_forms():
    """ifconfig(8) bridge parameters: `private`, `sticky`, `stp` take the member, their `-`
    forms clear the flag; `static` takes the member and a MAC."""
    assert ifconfig.bridge_port("hv-lan", "tap3", {"private": True, "sticky": True}) == (
        "ifconfig", "hv-lan", "private", "tap3", "sticky", "tap3")
    assert ifconfig.bridge_port("hv-lan", "tap3", {"private": False}) == (
        "ifconfig", "hv-lan", "-private", "tap3")
    assert ifconfig.bridge_port("hv-lan", "em0", {"stp": True}) == (
        "ifconfig", "hv-lan", "stp", "em0")
    assert ifconfig.bridge_static("hv-lan", "tap3", "58:9c:fc:00:00:01") == (
        "ifconfig", "hv-lan", "static", "tap3", "58:9c:fc:00:00:01")


def test_file_disk_argv() -> None:
    """truncate(1): `truncate -s [+|-|%|/]size[K|k|M|m|G|g|T|t] file`, which creates the file
    when missing and leaves the bytes it adds as a hole; rm(1) -f: no error when absent."""
    from hvd_netconf.host import diskfile, names

    path = names.disk_file("/hv", "web", "data")
    assert path == "/hv/vm/web/disks/data.img"
    assert diskfile.create(path, "20G") == ("truncate", "-s", "20G", "/hv/vm/web/disks/data.img")
    assert diskfile.remove(path) == ("rm", "-f", "/hv/vm/web/disks/data.img")


def test_vlan_reparent_argv() -> None:
    """ifconfig(8): `vlan vlan_tag` and `vlandev iface` on a vlan(4) interface."""
    from hvd_netconf.host import ifconfig

    assert ifconfig.vlan_reparent("em1.30", "em1", 30) == (
        "ifconfig", "em1.30", "vlan", "30", "vlandev", "em1")
