"""Issue 19 items 2 and 4 over NETCONF on the sim: a VM's backup-schedule, run by the scheduler
with a fake clock over a week. Each period is backed up once (missed days after downtime
once), a full backup follows `full-every` incremental ones, and retention keeps the newest
`keep` backups and the chain they need, on a directory and on a dataset target; what hvd did
not write is never touched; every backup and deletion is a notification."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from e2e.helpers import config, disk_content, rpc, vm_disk, vm_xml, write_disk
from lxml import etree
from ncclient import manager
from support.server import HvdInstance

from hvd_netconf.host import zfs
from hvd_netconf.host.backend import CommandFailed
from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM
from hvd_netconf.ops import backups
from hvd_netconf.ops.backup_schedule import BackupScheduler, made_at

MONDAY = datetime(2026, 11, 30, 1, 0, tzinfo=UTC).timestamp()
DAY = 86400.0


def _events(m: manager.Manager) -> list[tuple[str, ...]]:
    out = []
    while (n := m.take_notification(block=True, timeout=0.5)) is not None:
        ev = etree.fromstring(n.notification_xml.encode())[1]
        kind = etree.QName(ev).localname
        if kind in ("backup-taken", "backup-pruned"):
            out.append((kind, *(ev.findtext(f"{{{VM}}}{k}") or "" for k in
                                ("vm", "backup", "base", "error"))))
    return out


def _day(name: str) -> int:
    t = made_at(name)
    assert t is not None
    return int((t - MONDAY) // DAY)


@pytest.mark.parametrize("kind", ["directory", "dataset"])
def test_a_week_of_daily_backups_keeps_what_retention_says(vmhvd: HvdInstance, tmp_path: Path,
                                                           kind: str) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    where = (f"<directory>{tmp_path}/files</directory>" if kind == "directory"
             else "<dataset>zroot/backups</dataset>")
    SimHost(root).run(zfs.create_filesystem("zroot/backups", "operator"))
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G"}, extra=(
        "<backup-schedule><target>t</target><keep>2</keep><full-every>2</full-every>"
        "</backup-schedule>"))).replace("</config>", (
            f'<backup-targets xmlns="{VM}"><backup-target><name>t</name>{where}'
            "</backup-target></backup-targets></config>")), target="running")
    assert vmhvd.server.backup_scheduler is not None
    vmhvd.server.backup_scheduler.stop()  # the test's clock runs it from here
    clock = [MONDAY]
    sched = BackupScheduler(vmhvd.server, vmhvd.server.notifications.publish,  # type: ignore[union-attr]
                            clock=lambda: clock[0])
    m.create_subscription()
    if kind == "directory":
        mine = tmp_path / "files" / "web" / "notes.txt"
        mine.parent.mkdir(parents=True)
        mine.write_text("the operator's own file\n")
    done = []
    for day in range(7):
        if day == 4:
            continue  # hvd was down on Friday: Saturday's pass makes one backup, not two
        clock[0] = MONDAY + day * DAY
        write_disk(root, "web", "d0", f"day {day}".encode(), day * 65536)
        done += sched.run_pass()
        clock[0] += 3600  # a second pass the same day finds nothing due
        assert sched.run_pass() == []
    taken = [d.split()[2] for d in done if d.startswith("backup")]
    assert [_day(n) for n in taken] == [0, 1, 2, 3, 5, 6]
    t = backups.target_named(vmhvd.server, "t")
    held = backups.held(t, "web")
    if kind == "directory":
        # fulls on days 0 and 3 (after 2 incrementals); keep 2 = days 5 and 6, and the full
        # of day 3 their chain starts from
        assert [(_day(b.name), sorted(_day(x) for x in b.bases)) for b in held] == [
            (3, []), (5, [3]), (6, [5])]
        assert mine.read_text() == "the operator's own file\n"
        # the chain retention kept restores: the newest backup gives the disk back whole
        rpc(m, f'<restore-vm xmlns="{VM}"><target>t</target><vm>web</vm><name>web-r</name>'
               "</restore-vm>")
        assert disk_content(vm_disk(root, "web-r", "d0")) == disk_content(
            vm_disk(root, "web", "d0"))
        assert sorted(p.name for p in (tmp_path / "files" / "web").iterdir()) == sorted(
            ["notes.txt", *(f"{b.name}.json" for b in held), *(b.name for b in held)])
    else:
        assert [_day(b.name) for b in held] == [5, 6]  # snapshots stand alone
        snaps = SimHost(root).state()["datasets"]["zroot/backups/web/d0"]["snaps"]
        assert sorted(_day(s) for s in snaps) == [5, 6]
        # the newest is held, so no retention of the target's own can break the chain
        assert {_day(s): r.get("holds", []) for s, r in snaps.items()} == {
            5: [], 6: ["hvd-backup-chain"]}
        newest = max(snaps)
        with pytest.raises(CommandFailed) as e:
            SimHost(root).run(zfs.destroy(f"zroot/backups/web/d0@{newest}"))
        assert e.value.stderr == (f"cannot destroy snapshot zroot/backups/web/d0@{newest}: "
                                  "dataset is busy\n")
    kept = [_day(b.name) for b in held]
    pruned = [d.split()[2] for d in done if d.startswith("prune")]
    assert sorted(_day(n) for n in pruned) == [d for d in (0, 1, 2, 3) if d not in kept]
    events = _events(m)
    assert [e[:2] for e in events if e[0] == "backup-taken"] == [("backup-taken", "web")] * 6
    assert sorted(_day(e[2]) for e in events if e[0] == "backup-pruned") == sorted(
        _day(n) for n in pruned)
    # the source keeps bookmarks of the kept backups only
    marks = SimHost(root).state()["datasets"]["zroot/hv/vm/web/disks/d0"].get("bookmarks", {})
    assert sorted(_day(b) for b in marks) == kept


def test_a_failing_scheduled_backup_is_told_and_tried_again(vmhvd: HvdInstance) -> None:
    root, m = vmhvd.root, vmhvd.connect_uds()
    m.edit_config(config(vms=vm_xml("web", disks={"d0": "1G"}, extra=(
        "<backup-schedule><target>t</target></backup-schedule>"))).replace("</config>", (
            f'<backup-targets xmlns="{VM}"><backup-target><name>t</name>'
            "<dataset>zroot/missing</dataset></backup-target></backup-targets></config>")),
        target="running")
    assert vmhvd.server.backup_scheduler is not None
    vmhvd.server.backup_scheduler.stop()
    sched = BackupScheduler(vmhvd.server, vmhvd.server.notifications.publish,  # type: ignore[union-attr]
                            clock=lambda: MONDAY)
    m.create_subscription()
    assert sched.run_pass() == ["failed web"]
    (event,) = _events(m)
    assert event[0] == "backup-taken" and "zroot/missing" in event[4]
    SimHost(root).run(zfs.create_filesystem("zroot/missing", "operator"))
    assert [d.split()[0] for d in sched.run_pass()] == ["backup"]
