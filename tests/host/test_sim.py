"""The simulated host refuses what FreeBSD refuses, with FreeBSD-like stderr and exit status.

These tests check the simulation itself; nothing here says a real host behaves this way beyond
what docs/freebsd-facts.md and the manual pages state.
"""

import json
import os

import pytest

from hvd_netconf.host import ifconfig, zfs
from hvd_netconf.host.backend import CommandFailed, Host
from hvd_netconf.host.selection import select_backend
from hvd_netconf.host.sim.host import SimHost


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


def test_zvol_sizes_as_openzfs_takes_them(sim):
    """-V rounds up to the volblocksize (§2.3); 16 TiB and more is metadata on ZFS, so the sim
    creates it too (its stand-in file stays sparse and capped); `zfs set volsize` is not
    rounded."""
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(zfs.create_zvol("zroot/hv/v", "1000"))
    sim.run(zfs.create_zvol("zroot/hv/w", "1000", volblocksize="8K"))
    listed = zfs.parse_list(sim.run(zfs.list_tree("zroot/hv")))
    assert (listed["zroot/hv/v"].volsize, listed["zroot/hv/w"].volsize) == (16384, 8192)
    for size, n in (("16T", 16 << 40), ("64P", 64 << 50)):
        sim.run(zfs.create_zvol(f"zroot/hv/{size}", size))
        assert zfs.parse_list(sim.run(zfs.list_tree(f"zroot/hv/{size}")))[
            f"zroot/hv/{size}"].volsize == n
    sim.run(zfs.set_volsize("zroot/hv/16T", "17T"))
    assert sim.zvol_file("zroot/hv/16T").stat().st_blocks == 0
    assert fails(sim, zfs.set_volsize("zroot/hv/v", "20000")) == (
        "cannot set property for 'zroot/hv/v': 'volsize' must be a multiple of volume block "
        "size")


def test_bridge_sets_a_new_member_to_its_mtu(sim):
    """if_bridge gives a member of another MTU the bridge's, EINVAL when it cannot (§3.3)."""
    sim.run(ifconfig.bridge_create("hv-lan", "x"))
    sim.run(ifconfig.set_mtu("em0", 9000))
    sim.run(ifconfig.bridge_addm("hv-lan", "em0"))
    sim.run(ifconfig.tap_create())
    sim.run(ifconfig.bridge_addm("hv-lan", "tap0"))
    assert sim.state()["interfaces"]["tap0"]["mtu"] == 9000
    sim.run(ifconfig.vlan_create("em1", 5))  # 1500 from em1, and cannot go above it
    assert fails(sim, ifconfig.bridge_addm("hv-lan", "em1.5")) == (
        "ifconfig: BRDGADD em1.5: Invalid argument")
    assert sim.state()["interfaces"]["em1.5"]["mtu"] == 1500


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


@pytest.mark.parametrize("argv", [("ls", "/"), ("zfs", "upgrade", "zroot/a"),
                                  ("ifconfig", "em0", "inet", "10.0.0.1"), ("route", "add")])
def test_unknown_commands_fail_loudly(sim, argv):
    assert "not simulated" in fails(sim, argv, code=127)


def test_a_volume_is_renamed_with_its_snapshots_and_bytes(sim):
    sim.run(zfs.create_filesystem("zroot/vm", "vm"))
    sim.run(("zfs", "create", "-s", "-V", "1G", "zroot/vm/a"))
    with open(sim.zvol_file("zroot/vm/a"), "r+b") as f:
        f.write(b"kept")
    sim.run(("zfs", "snapshot", "zroot/vm/a@s1"))
    sim.run(("zfs", "rename", "zroot/vm/a", "zroot/vm/b"))
    st = sim.state()["datasets"]
    assert "zroot/vm/a" not in st and list(st["zroot/vm/b"]["snaps"]) == ["s1"]
    with open(sim.zvol_file("zroot/vm/b"), "rb") as f:
        assert f.read(4) == b"kept"
    assert fails(sim, ("zfs", "rename", "zroot/vm/a", "zroot/vm/c")) == (
        "cannot open 'zroot/vm/a': dataset does not exist")
    sim.run(("zfs", "create", "-s", "-V", "1G", "zroot/vm/c"))
    assert fails(sim, ("zfs", "rename", "zroot/vm/b", "zroot/vm/c")) == (
        "cannot rename to 'zroot/vm/c': dataset already exists")
    assert fails(sim, ("zfs", "rename", "zroot/vm/b", "zroot/no/c")) == (
        "cannot rename to 'zroot/no/c': parent does not exist")
    assert SimHost(sim.dir.parent).state()["datasets"]["zroot/vm/b"]["snaps"]  # replayed


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


def test_destroy_and_list_take_the_subtree_only(sim, tmp_path):
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    for vm in ("web", "web2"):
        sim.run(("zfs", "create", "-p", f"zroot/hv/vm/{vm}/disks"))
        sim.run(zfs.create_zvol(f"zroot/hv/vm/{vm}/disks/d0", "1G"))
    assert sorted(zfs.parse_list(sim.run(zfs.list_tree("zroot/hv/vm/web")))) == [
        "zroot/hv/vm/web", "zroot/hv/vm/web/disks", "zroot/hv/vm/web/disks/d0"]
    assert fails(sim, ("zfs", "destroy", "zroot/hv/vm/web")).endswith(
        "zroot/hv/vm/web/disks\nzroot/hv/vm/web/disks/d0")
    again = SimHost(tmp_path)  # its index of children comes from the files
    again.run(zfs.destroy("zroot/hv/vm/web", recursive=True))
    assert sorted(zfs.parse_list(again.run(zfs.list_tree("zroot/hv")))) == [
        "zroot/hv", "zroot/hv/vm", "zroot/hv/vm/web2", "zroot/hv/vm/web2/disks",
        "zroot/hv/vm/web2/disks/d0"]
    assert sim.run(zfs.list_tree("zroot/hv/vm")) == again.run(zfs.list_tree("zroot/hv/vm"))
    sim.run(("zfs", "create", "zroot/hv/vm/web"))  # gone in both instances' indexes
    assert fails(sim, ("zfs", "destroy", "zroot/hv/vm")).endswith(
        "zroot/hv/vm/web\nzroot/hv/vm/web2\nzroot/hv/vm/web2/disks\nzroot/hv/vm/web2/disks/d0")


def _busy_day(sim):
    """Commands of every kind, reads, failures and a partly done one among them."""
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(zfs.create_filesystem("zroot/hv/vm", "vms"))
    sim.run(zfs.create_zvol("zroot/hv/vm/d0", "1G"))
    sim.run(zfs.create_zvol("zroot/hv/vm/gone", "1G"))
    sim.run(zfs.set_volsize("zroot/hv/vm/d0", "2G"))
    sim.run(zfs.destroy("zroot/hv/vm/gone"))
    sim.run(ifconfig.bridge_create("hv-lan", "hvd:net/lan"))
    sim.run(ifconfig.tap_create())
    sim.run(ifconfig.bridge_addm("hv-lan", "tap0"))
    sim.run(("bhyvectl", "--vm=web", "--create"))
    fails(sim, ("ifconfig", "em1", "down", "mtu", "99999"))  # down stays done, as on FreeBSD
    fails(sim, ("zfs", "create", "zroot/hv"))
    sim.run(zfs.list_tree("zroot/hv"))
    sim.run(("sysctl", "-n", "net.fibs"))
    sim.run(ifconfig.list_group("bridge"))
    sim.run(("ifconfig", "em0"))


def _log_lines(sim):
    return [json.loads(line) for line in sim.log_path.read_bytes().splitlines()]


def test_each_change_is_one_log_line_and_a_restart_sees_it_all(sim, tmp_path):
    snapshot = sim.state_path.read_bytes()
    zvol = sim.zvol_file("zroot/hv/vm/d0")
    _busy_day(sim)
    mtime = zvol.stat().st_mtime_ns
    assert sim.state_path.read_bytes() == snapshot  # no rewrite of the whole host per command
    lines = _log_lines(sim)
    assert [e["seq"] for e in lines] == list(range(1, 13))  # reads are not logged
    assert lines[-1]["run"] == ["zfs", "create", "zroot/hv"]
    st = sim.state()
    assert st["interfaces"]["em1"]["up"] is False and st["interfaces"]["em1"]["mtu"] == 1500
    assert st["interfaces"]["hv-lan"]["members"] == ["tap0"] and "web" in st["vmm"]
    assert "zroot/hv/vm/gone" not in st["datasets"]
    again = SimHost(tmp_path)  # hvd restarted: snapshot plus the log, replayed
    assert again.state() == st
    assert zvol.stat().st_size == 2 << 30 and zvol.stat().st_mtime_ns == mtime
    assert not sim.zvol_file("zroot/hv/vm/gone").exists()
    assert fails(again, ("ifconfig", "tap0", "create")) == (
        "ifconfig: SIOCIFCREATE2 (tap0): File exists")


def test_instances_see_each_others_commands(tmp_path):
    first, other = SimHost(tmp_path), SimHost(tmp_path)
    first.run(zfs.create_root("zroot/hv", "/hv"))
    other.run(zfs.create_filesystem("zroot/hv/vm", "vms"))
    assert fails(first, zfs.create_filesystem("zroot/hv/vm", "vms")) == (
        "cannot create 'zroot/hv/vm': dataset already exists")
    assert first.state() == other.state() and [e["seq"] for e in _log_lines(first)] == [1, 2, 3]


@pytest.mark.parametrize("tail", [b'{"seq": 13, "run": ["zfs", "des', b"\0\0\0\0"])
def test_a_torn_last_log_line_is_a_command_that_never_returned(sim, tmp_path, tail):
    _busy_day(sim)
    st = sim.state()
    with open(sim.log_path, "ab") as f:  # hvd died while appending
        f.write(tail)
    again = SimHost(tmp_path)
    assert again.state() == st
    again.run(ifconfig.up("em1"))  # the next command replaces the torn line
    assert [e["seq"] for e in _log_lines(again)] == list(range(1, 14))
    assert SimHost(tmp_path).state()["interfaces"]["em1"]["up"] is True
    assert sim.state() == again.state()


def test_the_log_is_folded_into_a_new_snapshot_once_it_outgrows_it(tmp_path, monkeypatch):
    from hvd_netconf.host.sim import state as simstate

    monkeypatch.setattr(simstate, "COMPACT_AT", 0)
    sim = SimHost(tmp_path)
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sizes = []
    for i in range(40):
        sim.run(ifconfig.set_descr("em0", f"uplink {i}"))
        sizes.append(sim.log_path.stat().st_size)
    assert max(sizes) <= sim.state_path.stat().st_size + 100 and min(sizes) == 0
    snap = json.loads(sim.state_path.read_bytes())
    assert snap["seq"] + len(_log_lines(sim)) == 41
    assert SimHost(tmp_path).state() == sim.state()
    assert sim.state()["interfaces"]["em0"]["descr"] == "uplink 39"


def _until_compacted(sim):
    """Run commands until the log outgrows the snapshot and is folded into it."""
    for i in range(100):
        sim.run(ifconfig.set_descr("em0", f"uplink {i}"))
        if not sim.log_path.read_bytes():
            return
    raise AssertionError("no compaction")


def test_a_crash_amid_a_compaction_replays_nothing_twice(tmp_path, monkeypatch):
    from hvd_netconf.host.sim import state as simstate

    monkeypatch.setattr(simstate, "COMPACT_AT", 0)
    sim = SimHost(tmp_path)
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(ifconfig.tap_create())
    log = sim.log_path.read_bytes()
    _until_compacted(sim)
    st = sim.state()
    sim.log_path.write_bytes(log)  # as if hvd died after the snapshot, before emptying the log
    again = SimHost(tmp_path)
    assert again.state() == st  # tap0 not created twice (that would be tap1)
    again.run(ifconfig.tap_create())
    assert "tap1" in SimHost(tmp_path).state()["interfaces"]


def test_snapshot_is_replaced_atomically(tmp_path, monkeypatch):
    from hvd_netconf.host.sim import state as simstate

    monkeypatch.setattr(simstate, "COMPACT_AT", 0)
    sim = SimHost(tmp_path)
    sim.run(ifconfig.tap_create())
    _until_compacted(sim)
    assert not [f for f in os.listdir(sim.dir) if f.endswith(".tmp")]
    assert "tap0" in json.loads(sim.state_path.read_text())["interfaces"]


def test_process_matches_only_a_standin_for_that_vm(sim):
    assert not sim.process_matches(os.getpid(), "web")
    assert not sim.process_matches(2**22 + 12345, "web")


def test_zfs_destroy_removes_the_datasets_files(tmp_path):
    """zfs destroy takes the dataset's mount and files with it; the sim removes the files
    under the destroyed filesystems' mountpoints, and nothing outside its root."""
    sim = SimHost(tmp_path)
    sim.run(zfs.create_root("zroot/hv", str(tmp_path)))
    sim.run(zfs.create_filesystem("zroot/hv/vm", "vms"))
    sim.run(("zfs", "create", "zroot/hv/vm/web"))
    sim.run(("zfs", "create", "zroot/hv/vm/db"))
    web, db = tmp_path / "vm" / "web", tmp_path / "vm" / "db"
    (web / "state").mkdir(parents=True)
    (web / "uefi-vars.fd").write_text("vars")
    (web / "state" / "console.log").write_text("log")
    assert db.is_dir()  # mounted when created
    (db / "uefi-vars.fd").write_text("vars")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "keep").write_text("not the sim's")
    sim.run(("zfs", "create", "-o", f"mountpoint={outside}", "zroot/elsewhere"))
    sim.run(zfs.destroy("zroot/hv/vm/web", recursive=True))
    assert not web.exists()
    assert (db / "uefi-vars.fd").read_text() == "vars"
    sim.run(zfs.destroy("zroot/elsewhere"))
    assert (outside / "keep").exists()
    sim.run(zfs.destroy("zroot/hv", recursive=True))  # the root holds the sim itself
    assert not db.exists() and (tmp_path / ".sim" / "host.json").exists()


def test_snapshot_rollback_and_destroy_as_zfs_words_them(sim):
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(("zfs", "create", "-p", "zroot/hv/vm/web/disks"))
    sim.run(zfs.create_zvol("zroot/hv/vm/web/disks/d0", "1G"))
    disk = sim.zvol_file("zroot/hv/vm/web/disks/d0")
    disk.write_bytes(b"")  # truncate, then the 1 GiB hole with one written block
    os.truncate(disk, 1 << 30)
    with open(disk, "r+b") as f:
        f.seek(1 << 29)
        f.write(b"first")
    sim.run(("zfs", "snapshot", "-r", "zroot/hv/vm/web@a"))
    snap = sim.zvol_file("zroot/hv/vm/web/disks/d0@a")
    assert snap.stat().st_size == 1 << 30 and snap.stat().st_blocks * 512 <= 1 << 20
    with open(disk, "r+b") as f:
        f.seek(1 << 29)
        f.write(b"later")
    sim.run(("zfs", "snapshot", "-r", "zroot/hv/vm/web@b"))
    assert fails(sim, ("zfs", "snapshot", "zroot/hv/vm/web@b")) == (
        "cannot create snapshot 'zroot/hv/vm/web@b': dataset already exists")
    assert fails(sim, zfs.rollback("zroot/hv/vm/web/disks/d0", "a")) == (
        "cannot rollback to 'zroot/hv/vm/web/disks/d0@a': more recent snapshots or bookmarks "
        "exist\nuse '-r' to force deletion of the following snapshots and bookmarks:\n"
        "zroot/hv/vm/web/disks/d0@b")
    assert fails(sim, ("zfs", "destroy", "zroot/hv/vm/web/disks/d0")).endswith(
        "use '-r' to destroy the following datasets:\n"
        "zroot/hv/vm/web/disks/d0@a\nzroot/hv/vm/web/disks/d0@b")
    sim.run(("zfs", "rollback", "-r", "zroot/hv/vm/web/disks/d0@a"))
    with open(disk, "rb") as f:
        f.seek(1 << 29)
        assert f.read(5) == b"first"
    listed = zfs.parse_snapshots(sim.run(zfs.list_snapshots("zroot/hv/vm/web")))
    assert [f"{s.dataset}@{s.name}" for s in listed] == [
        "zroot/hv/vm/web@a", "zroot/hv/vm/web@b", "zroot/hv/vm/web/disks@a",
        "zroot/hv/vm/web/disks@b", "zroot/hv/vm/web/disks/d0@a"]
    assert fails(sim, zfs.destroy_snapshot("zroot/hv/vm/web", "zz")) == (
        "could not find any snapshots to destroy; check snapshot names.")
    assert fails(sim, zfs.rollback("zroot/hv/vm/web", "zz")) == (
        "cannot open 'zroot/hv/vm/web@zz': dataset does not exist")
    sim.run(zfs.destroy_snapshot("zroot/hv/vm/web", "a"))
    assert not snap.exists()


def test_a_batch_stops_at_the_failing_command_and_names_it_in_freebsds_words(sim):
    argvs = [zfs.create_filesystem("zroot/a", "vm"), zfs.create_filesystem("zroot/a", "vm"),
             zfs.create_filesystem("zroot/b", "vm")]
    out = sim.run_batch(argvs)
    assert out[0] == "" and out[2] is None  # done, failed, never started
    assert isinstance(out[1], CommandFailed) and out[1].argv == argvs[1]
    assert out[1].stderr == "cannot create 'zroot/a': dataset already exists\n"
    assert set(SimHost(sim.dir.parent).state()["datasets"]) == {"zroot", "zroot/a"}


def test_a_batch_that_keeps_going_runs_every_command_and_logs_them(sim, tmp_path):
    argvs = [zfs.create_filesystem(f"zroot/v{i}", "vm") for i in range(200)]
    argvs.insert(3, ("zfs", "create", "zroot/no/parent"))
    out = sim.run_batch(argvs, keep_going=True)
    assert [type(o) for o in out].count(CommandFailed) == 1
    assert out[3].stderr == "cannot create 'zroot/no/parent': parent does not exist\n"
    assert all(o == "" for i, o in enumerate(out) if i != 3)
    # another process opening the host sees every command, replayed from the log
    assert {f"zroot/v{i}" for i in range(200)} <= set(SimHost(tmp_path).state()["datasets"])


def test_an_injected_fault_fires_inside_a_batch(sim):
    sim.inject_fault(("zfs", "create"), "cannot create 'zroot/b': out of space", code=1)
    out = sim.run_batch([("sysctl", "-n", "net.fibs"), zfs.create_filesystem("zroot/b", "vm")])
    assert out[0] == "4\n" and isinstance(out[1], CommandFailed)
    assert out[1].stderr == "cannot create 'zroot/b': out of space"
    assert sim.run(zfs.create_filesystem("zroot/b", "vm")) == ""  # it fired once


def test_a_bug_in_the_sim_is_a_commands_outcome_and_ends_the_batch(sim, tmp_path, monkeypatch):
    def broken(st, args, out, argv):
        raise KeyError("a bug")

    before = [zfs.create_filesystem("zroot/a", "vm")]
    argvs = [*before, ("ifconfig", "em0", "mtu", "9000"), zfs.create_filesystem("zroot/b", "vm")]
    monkeypatch.setattr(sim, "_ifconfig", broken)
    out = sim.run_batch(argvs, keep_going=True)
    assert out[0] == "" and isinstance(out[1], KeyError) and out[2] is None
    monkeypatch.undo()
    assert set(SimHost(tmp_path).state()["datasets"]) == {"zroot", "zroot/a"}
