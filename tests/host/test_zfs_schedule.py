"""Scheduled snapshots as data (host/zfs_schedule.py), driven by a fake clock: slots, what is
due, what is pruned, downtime, and that only the scheduler's own snapshots of a period are
ever named for pruning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hvd_netconf.host import zfs
from hvd_netconf.host import zfs_schedule as zs
from hvd_netconf.host.sim.host import SimHost

DS = "zroot/hv/vm/web"


def _t(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC).timestamp()


def test_slot_starts_in_utc() -> None:
    now = _t("2026-12-03T17:44")  # a Thursday
    assert [zs.slot_name(p, zs.slot_start(p, now)) for p in zs.PERIODS] == [
        "hvd-auto-frequent-2026-12-03T1730Z", "hvd-auto-hourly-2026-12-03T1700Z",
        "hvd-auto-daily-2026-12-03T0000Z", "hvd-auto-weekly-2026-11-30T0000Z",
        "hvd-auto-monthly-2026-12-01T0000Z"]
    assert [zs.next_slot(p, now).strftime("%Y-%m-%dT%H%M") for p in zs.PERIODS] == [
        "2026-12-03T1745", "2026-12-03T1800", "2026-12-04T0000", "2026-12-07T0000",
        "2027-01-01T0000"]
    assert zs.next_wake({"hourly": 1, "daily": 3}, now) == _t("2026-12-03T18:00")
    assert zs.next_wake({"hourly": 0}, now) is None


def test_golden_argv() -> None:
    # zfs-list(8): -d 2 below the VMs' parent: each VM dataset's snapshots, not its disks'
    assert zs.list_tagged("zroot/hv/vm") == (
        "zfs", "list", "-H", "-p", "-t", "snapshot", "-d", "2",
        "-o", "name,hvd:snap-owner,hvd:snap-policy", "zroot/hv/vm")
    # zfs-snapshot(8): one -r snapshot, hvd's tags and the period set with -o
    assert zfs.snapshot(DS, "hvd-auto-daily-2026-12-03T0000Z", description=None, commit=4,
                        policy="daily") == (
        "zfs", "snapshot", "-r", "-o", "hvd:owner=hvd", "-o", "hvd:snap-owner=hvd",
        "-o", "hvd:snap-commit=4", "-o", "hvd:snap-policy=daily",
        f"{DS}@hvd-auto-daily-2026-12-03T0000Z")


def test_only_the_schedulers_own_snapshots_of_a_period_are_parsed() -> None:
    rows = [
        f"{DS}@hvd-auto-hourly-2026-12-03T1700Z\thvd\thourly",  # the scheduler's
        f"{DS}@hvd-auto-hourly-2026-12-03T1600Z\t-\t-",  # a hand-made one named like it
        f"{DS}@hvd-auto-hourly-2026-12-03T1500Z\thvd\tdaily",  # tag and name disagree
        f"{DS}@hvd-2026-12-03T08.30.00Z\thvd\t-",  # snapshot-vm's
        f"{DS}@before-upgrade\t-\t-",  # by hand
        "zroot/hv/vm/db@hvd-auto-daily-2026-12-03T0000Z\thvd\tdaily",  # another VM's
    ]
    assert zs.parse_tagged("\n".join(rows) + "\n") == {
        DS: [zs.Scheduled("hvd-auto-hourly-2026-12-03T1700Z", "hourly",
                          datetime(2026, 12, 3, 17, tzinfo=UTC))],
        "zroot/hv/vm/db": [zs.Scheduled("hvd-auto-daily-2026-12-03T0000Z", "daily",
                                        datetime(2026, 12, 3, tzinfo=UTC))]}


def test_due_takes_the_current_slot_once() -> None:
    now = _t("2026-12-03T17:05")
    counts = {"hourly": 24, "daily": 7}
    first = zs.due(counts, now, [])
    assert [s.name for s in first] == ["hvd-auto-hourly-2026-12-03T1700Z",
                                       "hvd-auto-daily-2026-12-03T0000Z"]
    assert zs.due(counts, now + 600, first) == []
    assert [s.name for s in zs.due(counts, _t("2026-12-03T18:00"), first)] == [
        "hvd-auto-hourly-2026-12-03T1800Z"]
    # a clock set back finds a later slot filled and takes nothing
    assert zs.due(counts, _t("2026-12-03T16:59"), first[:1]) == [
        zs.Scheduled("hvd-auto-daily-2026-12-03T0000Z", "daily",
                     datetime(2026, 12, 3, tzinfo=UTC))]


def test_downtime_takes_the_missed_slots_once_not_once_each() -> None:
    before = zs.due({"frequent": 4, "hourly": 24}, _t("2026-12-03T01:10"), [])
    after = zs.due({"frequent": 4, "hourly": 24}, _t("2026-12-03T11:20"), before)
    assert [s.name for s in after] == ["hvd-auto-frequent-2026-12-03T1115Z",
                                       "hvd-auto-hourly-2026-12-03T1100Z"]


def test_prune_keeps_the_newest_count_per_period() -> None:
    snaps = [zs.Scheduled(zs.slot_name("hourly", datetime(2026, 12, 3, h, tzinfo=UTC)),
                          "hourly", datetime(2026, 12, 3, h, tzinfo=UTC)) for h in range(5)]
    daily = zs.Scheduled("hvd-auto-daily-2026-12-03T0000Z", "daily",
                         datetime(2026, 12, 3, tzinfo=UTC))
    assert [s.name for s in zs.prune({"hourly": 2, "daily": 1}, [*snaps, daily])] == [
        s.name for s in snaps[:3]]
    assert zs.prune({"hourly": 0, "daily": 1}, [*snaps, daily]) == snaps  # 0 keeps none
    assert zs.prune({"hourly": 7, "daily": 1}, [*snaps, daily]) == []  # fewer than kept


def test_the_sim_lists_the_vm_datasets_own_snapshots_with_their_tags(tmp_path: Path) -> None:
    sim = SimHost(tmp_path)
    sim.run(zfs.create_root("zroot/hv", "/hv"))
    sim.run(("zfs", "create", "-p", f"{DS}/disks"))
    sim.run(zfs.create_zvol(f"{DS}/disks/d0", "1G"))
    name = "hvd-auto-hourly-2026-12-03T1700Z"
    sim.run(zfs.snapshot(DS, name, description=None, commit=1, policy="hourly"))
    sim.run(("zfs", "snapshot", "-r", f"{DS}@by-hand"))
    listed = sim.run(zs.list_tagged("zroot/hv/vm"))
    assert listed == f"{DS}@{name}\thvd\thourly\n{DS}@by-hand\t-\t-\n"
    assert [s.name for s in zs.parse_tagged(listed)[DS]] == [name]


def _listing(snaps: dict[str, tuple[str, str]]) -> str:
    return "".join(f"{DS}@{name}\t{owner}\t{policy}\n" for name, (owner, policy) in snaps.items())


def test_a_week_of_policy_keeps_exactly_the_counts_and_never_touches_a_hand_made_one() -> None:
    counts = {"frequent": 4, "hourly": 24, "daily": 7, "weekly": 2, "monthly": 1}
    hand = {"before-upgrade": ("-", "-"), "hvd-auto-hourly-2026-11-01T0000Z": ("-", "-"),
            "hvd-2026-11-30T08.00.00Z": ("hvd", "-")}
    host = dict(hand)  # what `zfs list` would show, in creation order
    taken: list[str] = []
    pruned: list[str] = []
    now = _t("2026-11-28T09:03")
    end = _t("2026-12-09T09:03")  # eleven days, past two Mondays and a 1st of the month
    while now < end:
        existing = zs.parse_tagged(_listing(host)).get(DS, [])
        for slot in zs.due(counts, now, existing):
            host[slot.name] = ("hvd", slot.period)
            taken.append(slot.name)
        for gone in zs.prune(counts, zs.parse_tagged(_listing(host)).get(DS, [])):
            assert gone.name not in hand
            del host[gone.name]
            pruned.append(gone.name)
        now += 300  # the scheduler wakes every five minutes here
        if _t("2026-12-05T10:00") <= now < _t("2026-12-05T22:00"):
            now = _t("2026-12-05T22:07")  # twelve hours down: missed slots taken once
    kept = zs.parse_tagged(_listing(host)).get(DS, [])
    by_period = {p: sorted(s.name for s in kept if s.period == p) for p in zs.PERIODS}
    assert {p: len(v) for p, v in by_period.items()} == counts
    assert all(host[name] == owner_policy for name, owner_policy in hand.items())
    assert by_period["monthly"] == ["hvd-auto-monthly-2026-12-01T0000Z"]
    assert by_period["weekly"] == ["hvd-auto-weekly-2026-11-30T0000Z",
                                   "hvd-auto-weekly-2026-12-07T0000Z"]
    assert by_period["daily"][0] == "hvd-auto-daily-2026-12-03T0000Z"
    assert by_period["hourly"][-1] == "hvd-auto-hourly-2026-12-09T0900Z"
    assert by_period["frequent"] == [f"hvd-auto-frequent-2026-12-09T{t}Z"
                                     for t in ("0815", "0830", "0845", "0900")]
    # the downtime: 10:00..22:00 on the 5th is one gap, then one hourly at 22:00
    day5 = [n for n in taken if n.startswith("hvd-auto-hourly-2026-12-05T")]
    assert day5[-3:] == ["hvd-auto-hourly-2026-12-05T0900Z", "hvd-auto-hourly-2026-12-05T2200Z",
                         "hvd-auto-hourly-2026-12-05T2300Z"]
    assert len(taken) == len(set(taken)) and set(pruned) <= set(taken)
