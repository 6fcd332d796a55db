"""Issue 19 item 2: scheduled snapshots with retention, over NETCONF on the sim. The policy is
committed like any configuration (per VM and host-wide); the daemon's scheduler thread runs on
an injected clock the test moves, and what it did is seen where a user sees it: the VMs'
snapshots in /hvd-vm:snapshots and snapshot-taken / snapshot-pruned notifications received by
a subscriber. Snapshots made by hand or by snapshot-vm are never pruned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from e2e.helpers import config, rpc, vm_xml
from lxml import etree
from ncclient import manager
from support.server import HvdInstance
from support.waiting import wait_for

from hvd_netconf.host.sim.host import SimHost
from hvd_netconf.namespaces import VM

VMX = {"vm": VM}


class Clock:
    def __init__(self, text: str) -> None:
        self.now = 0.0
        self.set(text)

    def set(self, text: str) -> None:
        self.now = datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC).timestamp()

    def __call__(self) -> float:
        return self.now


def _snapshots(m: manager.Manager) -> dict[str, list[str]]:
    reply = m.get(filter=("subtree", f'<snapshots xmlns="{VM}"/>'))
    data = etree.fromstring(reply.xml.encode())
    out: dict[str, list[str]] = {}
    for s in data.iterfind(".//vm:snapshot", VMX):
        out.setdefault(s.findtext("vm:vm", namespaces=VMX) or "", []).append(
            s.findtext("vm:name", namespaces=VMX) or "")
    return out


class Events:
    """A subscriber's snapshot-taken / snapshot-pruned events, as (kind, vm, name, period)."""

    def __init__(self, m: manager.Manager) -> None:
        self.m = m
        self.seen: list[tuple[str, ...]] = []
        m.create_subscription()

    def until(self, count: int) -> list[tuple[str, ...]]:
        def more() -> bool:
            notif: Any = self.m.take_notification(block=True, timeout=0.2)
            if notif is not None:
                ev = etree.fromstring(notif.notification_xml.encode())[1]
                kind = etree.QName(ev).localname
                if kind.startswith("snapshot-"):
                    self.seen.append((kind, *(ev.findtext(f"vm:{k}", namespaces=VMX) or ""
                                              for k in ("vm", "name", "period"))))
            return len(self.seen) >= count
        wait_for(more, what=f"{count} snapshot events")
        return self.seen


def _commit(m: manager.Manager, body: str) -> None:
    m.edit_config(target="candidate", config=body)
    m.commit()


def test_scheduled_snapshots_are_taken_pruned_and_announced(vmhvd: HvdInstance) -> None:
    m = vmhvd.connect_uds()
    events = Events(vmhvd.connect_uds())
    scheduler = vmhvd.server.snapshot_scheduler
    assert scheduler is not None
    wait_for(lambda: scheduler.passes >= 1, what="the thread's first pass, on the real clock")
    clock = scheduler.clock = Clock("2026-12-03T16:40")
    web = vm_xml("web", disks={"disk0": "1G"},
                 extra="<snapshot-schedule><daily>1</daily></snapshot-schedule>")
    _commit(m, config(vms=web + vm_xml("db", disks={"disk0": "1G"})))
    rpc(m, f'<snapshot-vm xmlns="{VM}"><vm>web</vm><name>keep-me</name></snapshot-vm>')
    SimHost(vmhvd.root).run(("zfs", "snapshot", "-r", "zroot/hv/vm/db@by-hand"))
    # the host-wide policy: two hourlies for every VM, as one ordinary commit
    _commit(m, config()[:-len("</config>")] + f'<snapshot-schedule xmlns="{VM}">'
            "<hourly>2</hourly></snapshot-schedule></config>")
    got = m.get_config(source="running", filter=("subtree", f'<snapshot-schedule xmlns="{VM}"/>'))
    assert "<hourly>2</hourly>" in got.xml

    clock.set("2026-12-03T17:05")
    scheduler.wake()
    assert sorted(events.until(3)) == [
        ("snapshot-taken", "db", "hvd-auto-hourly-2026-12-03T1700Z", "hourly"),
        ("snapshot-taken", "web", "hvd-auto-daily-2026-12-03T0000Z", "daily"),
        ("snapshot-taken", "web", "hvd-auto-hourly-2026-12-03T1700Z", "hourly")]
    for hour, steps in (("18", 2), ("19", 4)):  # at 19:00 the 17:00 hourlies go
        clock.set(f"2026-12-03T{hour}:01")
        scheduler.wake()
        events.until(len(events.seen) + steps)
    clock.set("2026-12-04T00:10")  # five hours down: one hourly, not five
    scheduler.wake()
    seen = events.until(len(events.seen) + 6)
    assert sorted(seen[3:]) == sorted([
        *(("snapshot-taken", vm, f"hvd-auto-hourly-2026-12-03T{h}00Z", "hourly")
          for vm in ("db", "web") for h in ("18", "19")),
        ("snapshot-pruned", "db", "hvd-auto-hourly-2026-12-03T1700Z", "hourly"),
        ("snapshot-pruned", "web", "hvd-auto-hourly-2026-12-03T1700Z", "hourly"),
        *(("snapshot-taken", vm, "hvd-auto-hourly-2026-12-04T0000Z", "hourly")
          for vm in ("db", "web")),
        ("snapshot-taken", "web", "hvd-auto-daily-2026-12-04T0000Z", "daily"),
        *(("snapshot-pruned", vm, "hvd-auto-hourly-2026-12-03T1800Z", "hourly")
          for vm in ("db", "web")),
        ("snapshot-pruned", "web", "hvd-auto-daily-2026-12-03T0000Z", "daily")])
    assert _snapshots(m) == {
        "db": ["by-hand", "hvd-auto-hourly-2026-12-03T1900Z", "hvd-auto-hourly-2026-12-04T0000Z"],
        "web": ["keep-me", "hvd-auto-hourly-2026-12-03T1900Z",
                "hvd-auto-hourly-2026-12-04T0000Z", "hvd-auto-daily-2026-12-04T0000Z"]}

    # the policy off for web (its own counts 0): its scheduled ones go, keep-me stays
    _commit(m, config(vms="<vm><name>web</name><snapshot-schedule><hourly>0</hourly>"
                      "<daily>0</daily></snapshot-schedule></vm>"))
    scheduler.wake()
    events.until(len(events.seen) + 3)
    assert _snapshots(m)["web"] == ["keep-me"]
    assert len(_snapshots(m)["db"]) == 3


class Recording:
    """The host, with every argv the scheduler runs recorded."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: Any) -> str:
        self.calls.append(tuple(argv))
        return str(self.host.run(argv))


def test_without_a_policy_the_scheduler_asks_the_host_nothing(vmhvd: HvdInstance) -> None:
    """A pass with no count above 0 runs no command (so it never meets a fault a test injected
    for a commit); a policy turned off is pruned once, then the host is left alone."""
    m = vmhvd.connect_uds()
    scheduler = vmhvd.server.snapshot_scheduler
    assert scheduler is not None
    wait_for(lambda: scheduler.passes >= 1, what="the thread's first pass")  # then it sleeps
    scheduler.clock = Clock("2026-12-03T17:05")
    host = scheduler.host = Recording(scheduler.host)  # type: ignore[assignment]  # a proxy
    _commit(m, config(vms=vm_xml("web", disks={"disk0": "1G"})))
    assert scheduler.run_pass() == [] and host.calls == []

    _commit(m, config(vms="<vm><name>web</name><snapshot-schedule><hourly>1</hourly>"
                      "</snapshot-schedule></vm>"))
    assert [(a.verb, a.snapshot.name) for a in scheduler.run_pass()] == [
        ("take", "hvd-auto-hourly-2026-12-03T1700Z")]
    assert [c[:2] for c in host.calls] == [("zfs", "list"), ("zfs", "snapshot")]
    _commit(m, config(vms="<vm><name>web</name><snapshot-schedule><hourly>0</hourly>"
                      "</snapshot-schedule></vm>"))
    assert [(a.verb, a.snapshot.name) for a in scheduler.run_pass()] == [
        ("prune", "hvd-auto-hourly-2026-12-03T1700Z")]
    host.calls.clear()
    assert scheduler.run_pass() == [] and host.calls == []
    assert scheduler.next_wake is None
