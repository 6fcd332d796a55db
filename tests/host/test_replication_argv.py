"""Golden argv of the send/receive/clone builders (host/zfs_replication.py), as the manual
pages give them."""

import pytest

from hvd_netconf.host import zfs
from hvd_netconf.host import zfs_replication as zr


def test_send_full_incremental_bookmark_raw_compressed():
    # zfs-send(8): zfs send [-DLPVbcehnpsvw] [-R [-X dataset[,dataset]...]] [[-I|-i]
    #   snapshot] snapshot;  zfs send [-DLPVcensvw] [-i snapshot|bookmark] filesystem|volume|
    #   snapshot
    assert zr.send("zroot/hv/vm/web/disks/disk0@b") == (
        "zfs", "send", "-L", "-e", "zroot/hv/vm/web/disks/disk0@b")
    assert zr.send("tank/d@b", base="tank/d@a", compressed=True) == (
        "zfs", "send", "-L", "-e", "-c", "-i", "tank/d@a", "tank/d@b")
    assert zr.send("tank/d@c", base="tank/d@a", intermediates=True, raw=True) == (
        "zfs", "send", "-L", "-e", "-w", "-I", "tank/d@a", "tank/d@c")
    # -w already sends blocks as stored: -c is not added beside it
    assert zr.send("tank/d@b", raw=True, compressed=True) == (
        "zfs", "send", "-L", "-e", "-w", "tank/d@b")
    assert zr.send("tank/d@b", base="tank/d#hvd-a") == (
        "zfs", "send", "-L", "-e", "-i", "tank/d#hvd-a", "tank/d@b")


def test_send_refuses_what_zfs_refuses():
    with pytest.raises(ValueError, match="bookmark"):
        zr.send("tank/d@b", base="tank/d#a", intermediates=True)
    with pytest.raises(ValueError, match="base"):
        zr.send("tank/d@b", intermediates=True)


def test_estimate_and_resume():
    # zfs-send(8): -n dry run, -P parsable "size\t<bytes>"; zfs send [-Penv] -t token
    assert zr.send("tank/d@b", base="tank/d@a", estimate=True) == (
        "zfs", "send", "-n", "-P", "-L", "-e", "-i", "tank/d@a", "tank/d@b")
    assert zr.send_resume("1-abc") == ("zfs", "send", "-t", "1-abc")
    assert zr.send_resume("1-abc", estimate=True) == ("zfs", "send", "-n", "-P", "-t", "1-abc")
    assert zr.parse_estimate("incremental\ta\ttank/d@b\t4096\nsize\t4096\n") == 4096
    assert zr.parse_estimate("") is None


def test_receive():
    # zfs-receive(8): zfs receive [-FhMnsuv] [-o property=value]... filesystem|volume|snapshot;
    #   zfs receive -A filesystem|volume
    assert zr.receive("backup/web/disk0", role="backup") == (
        "zfs", "receive", "-s", "-u", "-o", "hvd:owner=hvd", "-o", "hvd:role=backup",
        "backup/web/disk0")
    assert zr.receive("backup/web/disk0", force=True, dry_run=True, resumable=False) == (
        "zfs", "receive", "-n", "-u", "-F", "backup/web/disk0")
    assert zr.receive_abort("backup/web/disk0") == ("zfs", "receive", "-A", "backup/web/disk0")
    # zfsprops(7): receive_resume_token
    assert zr.resume_token("backup/web/disk0") == (
        "zfs", "get", "-H", "-p", "-o", "value", "receive_resume_token", "backup/web/disk0")


def test_clone_promote_bookmark_hold():
    # zfs-clone(8): zfs clone [-p] [-o property=value]... snapshot filesystem|volume
    assert zr.clone("zroot/hv/vm/web/disks/disk0@base", "zroot/hv/vm/web2/disks/disk0",
                    role="disk") == (
        "zfs", "clone", "-o", "hvd:owner=hvd", "-o", "hvd:role=disk",
        "zroot/hv/vm/web/disks/disk0@base", "zroot/hv/vm/web2/disks/disk0")
    # zfs-promote(8): zfs promote clone
    assert zr.promote("zroot/hv/vm/web2/disks/disk0") == (
        "zfs", "promote", "zroot/hv/vm/web2/disks/disk0")
    # zfs-bookmark(8): zfs bookmark snapshot|bookmark newbookmark
    assert zr.bookmark("tank/d@hvd-backup-1", "hvd-backup-1") == (
        "zfs", "bookmark", "tank/d@hvd-backup-1", "tank/d#hvd-backup-1")
    # zfs-hold(8): zfs hold [-r] tag snapshot...; zfs release [-r] tag snapshot...
    assert zr.hold("hvd-backup", "tank/vm/web@s") == (
        "zfs", "hold", "-r", "hvd-backup", "tank/vm/web@s")
    assert zr.release("hvd-backup", "tank/vm/web@s") == (
        "zfs", "release", "-r", "hvd-backup", "tank/vm/web@s")
    # zfs-rename(8): zfs rename [-f] filesystem|volume|snapshot filesystem|volume|snapshot
    assert zr.rename("tank/vm/web/disks/d0-hvd-restore", "tank/vm/web/disks/d0") == (
        "zfs", "rename", "tank/vm/web/disks/d0-hvd-restore", "tank/vm/web/disks/d0")
    # zfs-destroy(8): zfs destroy filesystem|volume#bookmark
    assert zfs.destroy("tank/vm/web/disks/d0#hvd-backup-x") == (
        "zfs", "destroy", "tank/vm/web/disks/d0#hvd-backup-x")


def test_list_bookmarks_and_ssh():
    # zfs-list(8): -t bookmark
    assert zr.list_bookmarks("zroot/hv/vm/web") == (
        "zfs", "list", "-H", "-p", "-t", "bookmark", "-o", "name", "-r", "zroot/hv/vm/web")
    # ssh(1): ssh [-i identity_file] [-o option] [-p port] destination [command [argument ...]]
    assert zr.over_ssh(zr.receive("tank/b/web/d0", role="backup"), host="nas.example",
                       user="backup", port=2222, identity="/etc/hvd/backup_key") == (
        "ssh", "-o", "BatchMode=yes", "-i", "/etc/hvd/backup_key", "-p", "2222",
        "backup@nas.example", "zfs", "receive", "-s", "-u", "-o", "hvd:owner=hvd",
        "-o", "hvd:role=backup", "tank/b/web/d0")
    assert zr.over_ssh(("zfs", "list"), host="h", user="root", port=22, identity=None) == (
        "ssh", "-o", "BatchMode=yes", "-p", "22", "root@h", "zfs", "list")
    with pytest.raises(ValueError, match="remote shell"):
        zr.over_ssh(("zfs", "set", "a=b; rm -rf /", "t"), host="h", user="u", port=22,
                    identity=None)
