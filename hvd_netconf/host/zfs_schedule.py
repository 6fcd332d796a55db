"""Scheduled snapshots as data: which slots are due at a time, which snapshots to prune.

A period's slots start at fixed UTC instants (frequent every 15 minutes, hourly on the hour,
daily at 00:00, weekly on Monday 00:00, monthly on the 1st 00:00). A slot is filled by one
snapshot named `hvd-auto-<period>-<slot start>` and tagged hvd:snap-policy=<period> beside
hvd's other snapshot tags (host/zfs.py). Only the current slot is ever due: after downtime the
missed slots are taken once, as the one current slot, not once each. Pruning keeps a period's
newest `count` and names only snapshots that carry hvd's tags for that very period and the
name that goes with them; a hand-made snapshot, one from snapshot-vm or one of another period
is never named, whatever it is called. Pure: no clock of its own, no host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hvd_netconf.host.zfs import OWNER, SNAP_OWNER_PROP, ZFS, Argv

PERIODS = ("frequent", "hourly", "daily", "weekly", "monthly")
FREQUENT_MINUTES = 15
PREFIX = "hvd-auto-"
POLICY_PROP = "hvd:snap-policy"
_SLOT_FORMAT = "%Y-%m-%dT%H%MZ"
_NAME = re.compile(rf"{PREFIX}({'|'.join(PERIODS)})-(\d{{4}}-\d\d-\d\dT\d{{4}}Z)")


def slot_start(period: str, now: float) -> datetime:
    """The start (UTC) of the period's slot that holds `now` (seconds since the epoch)."""
    t = datetime.fromtimestamp(now, UTC).replace(second=0, microsecond=0)
    if period == "frequent":
        return t.replace(minute=t.minute - t.minute % FREQUENT_MINUTES)
    t = t.replace(minute=0)
    if period == "hourly":
        return t
    t = t.replace(hour=0)
    if period == "daily":
        return t
    if period == "weekly":
        return t - timedelta(days=t.weekday())
    if period == "monthly":
        return t.replace(day=1)
    raise ValueError(f"unknown snapshot period {period!r}")


def next_slot(period: str, now: float) -> datetime:
    """The start of the slot after the one that holds `now`."""
    start = slot_start(period, now)
    if period == "monthly":
        return (start + timedelta(days=32)).replace(day=1)
    step = {"frequent": timedelta(minutes=FREQUENT_MINUTES), "hourly": timedelta(hours=1),
            "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}[period]
    return start + step


def slot_name(period: str, start: datetime) -> str:
    """`hvd-auto-hourly-2026-12-03T1700Z`."""
    return f"{PREFIX}{period}-{start.strftime(_SLOT_FORMAT)}"


@dataclass(frozen=True)
class Scheduled:
    """One of the scheduler's snapshots of a VM: its name, period and slot start."""

    name: str
    period: str
    slot: datetime


def list_tagged(vms: str) -> Argv:
    """Every VM dataset's own snapshots, with the tags that say who made them and for which
    period, in one command: `zfs list -H -p -t snapshot -d 2 -o
    name,hvd:snap-owner,hvd:snap-policy <vms>` (zfs-list(8) -d: a VM's dataset is one level
    below <vms> and its snapshots two; its disks' snapshots, three, are left out;
    docs/freebsd-facts.md §2.5)."""
    return (ZFS, "list", "-H", "-p", "-t", "snapshot", "-d", "2",
            "-o", f"name,{SNAP_OWNER_PROP},{POLICY_PROP}", vms)


def parse_tagged(stdout: str) -> dict[str, list[Scheduled]]:
    """The scheduler's snapshots in `list_tagged` output, by dataset: hvd's owner tag, a
    period tag, and the name of a slot of that same period. Every other snapshot is left out,
    so nothing downstream can prune it."""
    out: dict[str, list[Scheduled]] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        full, owner, period = line.split("\t")
        dataset, _, name = full.partition("@")
        m = _NAME.fullmatch(name)
        if owner != OWNER or m is None or m.group(1) != period:
            continue
        slot = datetime.strptime(m.group(2), _SLOT_FORMAT).replace(tzinfo=UTC)
        out.setdefault(dataset, []).append(Scheduled(name, period, slot))
    return out


def due(counts: Mapping[str, int], now: float, existing: list[Scheduled]) -> list[Scheduled]:
    """The slots to take now: for each period kept (count > 0), its current slot unless a
    snapshot of that period already fills it (or a later one: a clock set back takes nothing)."""
    out = []
    for period in PERIODS:
        if counts.get(period, 0) <= 0:
            continue
        start = slot_start(period, now)
        if any(s.period == period and s.slot >= start for s in existing):
            continue
        out.append(Scheduled(slot_name(period, start), period, start))
    return out


def prune(counts: Mapping[str, int], existing: list[Scheduled]) -> list[Scheduled]:
    """The scheduler's snapshots beyond their period's count, oldest first (a count of 0, or a
    period no longer configured, keeps none)."""
    out = []
    for period in PERIODS:
        mine = sorted((s for s in existing if s.period == period), key=lambda s: s.slot)
        out += mine[:max(len(mine) - counts.get(period, 0), 0)]
    return out


def next_wake(counts: Mapping[str, int], now: float) -> float | None:
    """When the next slot of any kept period starts (None: nothing is scheduled)."""
    starts = [next_slot(p, now).timestamp() for p in PERIODS if counts.get(p, 0) > 0]
    return min(starts) if starts else None
