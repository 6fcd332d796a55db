"""Golden argv of the snapshot builders (host/zfs.py), as the manual pages give them."""

from hvd_netconf.host import zfs


def test_snapshot_is_one_recursive_command_with_hvds_properties():
    # zfs-snapshot(8): zfs snapshot [-r] [-o property=value]... dataset@snapname...
    assert zfs.snapshot("zroot/hv/vm/web", "base", description="clean install", commit=7) == (
        "zfs", "snapshot", "-r", "-o", "hvd:owner=hvd", "-o", "hvd:snap-owner=hvd",
        "-o", "hvd:snap-description=clean install", "-o", "hvd:snap-commit=7",
        "zroot/hv/vm/web@base")
    assert zfs.snapshot("zroot/hv/vm/web", "s", description=None, commit=0) == (
        "zfs", "snapshot", "-r", "-o", "hvd:owner=hvd", "-o", "hvd:snap-owner=hvd",
        "-o", "hvd:snap-commit=0",
        "zroot/hv/vm/web@s")


def test_list_snapshots_exact_numbers_in_creation_order():
    # zfs-list(8): -H scripted, -p exact numbers, -t snapshot, -s createtxg, -o columns, -r;
    # zfsprops(7): user properties are module:property
    assert zfs.list_snapshots("zroot/hv/vm") == (
        "zfs", "list", "-H", "-p", "-t", "snapshot", "-s", "createtxg",
        "-o", "name,creation,used,referenced,hvd:snap-owner,hvd:snap-description,"
              "hvd:snap-commit", "-r", "zroot/hv/vm")


def test_rollback_and_destroy_snapshot():
    # zfs-rollback(8): zfs rollback [-Rfr] snapshot
    assert zfs.rollback("zroot/hv/vm/web/disks/disk0", "base") == (
        "zfs", "rollback", "zroot/hv/vm/web/disks/disk0@base")
    # zfs-destroy(8): zfs destroy [-Rdnprv] filesystem|volume@snap[%snap][,snap...]
    assert zfs.destroy_snapshot("zroot/hv/vm/web", "base") == (
        "zfs", "destroy", "-r", "zroot/hv/vm/web@base")


def test_parse_snapshots():
    out = ("zroot/hv/vm/web@base\t1764750600\t0\t12288\thvd\tclean\t3\n"
           "zroot/hv/vm/web@manual\t1764750700\t4096\t8192\t-\t-\t-\n")
    first, second = zfs.parse_snapshots(out)
    assert first == zfs.SnapshotInfo("zroot/hv/vm/web", "base", 1764750600, 0, 12288, "hvd",
                                     "clean", 3)
    assert (second.owner, second.description, second.commit) == (None, None, None)
