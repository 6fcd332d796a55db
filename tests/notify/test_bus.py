"""The notification bus and RFC 6470 builders, without sockets."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from lxml import etree
from support.waiting import wait_for

from hvd_netconf.calls import SessionInfo
from hvd_netconf.filter import parse_filter
from hvd_netconf.namespaces import BASE, NC_NOTIFICATIONS, NETMOD_NOTIF, NOTIF, VM
from hvd_netconf.notify import NotificationBus, events, format_time, parse_time, session_hooks

N = {"n": NOTIF, "ncn": NC_NOTIFICATIONS, "nm": NETMOD_NOTIF}


@dataclass
class FakeSession:
    info: SessionInfo
    got: list[etree._Element] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)

    def send_notification(self, element: etree._Element) -> None:
        self.got.append(etree.fromstring(etree.tostring(element)))
        self.event.set()

    def kinds(self) -> list[str]:
        return [etree.QName(env[1]).localname for env in self.got]


def session(sid: int = 1, user: str = "alice") -> FakeSession:
    return FakeSession(SessionInfo(sid, user, "netconf-ssh", "192.0.2.1", "2026-01-01T00:00:00Z"))


def test_live_delivery_and_envelope() -> None:
    bus = NotificationBus()
    s = session()
    bus.subscribe(s)
    when = datetime(2026, 5, 1, 12, 0, 0, 500, tzinfo=UTC)
    bus.publish(events.session_start(s.info), when)
    env = s.got[0]
    assert env.tag == f"{{{NOTIF}}}notification"
    assert env.findtext(f"{{{NOTIF}}}eventTime") == "2026-05-01T12:00:00.000500Z"
    assert env.xpath("ncn:netconf-session-start/ncn:username/text()", namespaces=N) == ["alice"]


def test_unsubscribed_sessions_get_nothing() -> None:
    bus = NotificationBus()
    s = session()
    bus.subscribe(s)
    bus.unsubscribe(1)
    bus.publish(events.session_start(s.info))
    assert s.got == []


def test_replay_then_replay_complete_then_live() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bus = NotificationBus()
    for i in range(3):
        bus.publish(events.session_start(session(10 + i).info), t0 + timedelta(seconds=i))
    s = session()
    bus.subscribe(s, start_time=t0 + timedelta(seconds=1))
    bus.publish(events.session_start(session(20).info))
    assert s.kinds() == ["netconf-session-start", "netconf-session-start", "replayComplete",
                         "netconf-session-start"]
    ids = [e.findtext(".//ncn:session-id", namespaces=N) for e in s.got]
    assert ids == ["11", "12", None, "20"]


def test_stop_time_in_past_completes_after_replay() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bus = NotificationBus()
    bus.publish(events.session_start(session(5).info), t0)
    bus.publish(events.session_start(session(6).info), t0 + timedelta(seconds=10))
    s = session()
    bus.subscribe(s, start_time=t0, stop_time=t0 + timedelta(seconds=5))
    assert s.kinds() == ["netconf-session-start", "replayComplete", "notificationComplete"]
    assert bus.subscription(1) is None


def test_stop_time_in_future_ends_with_notification_complete() -> None:
    bus = NotificationBus()
    s = session()
    now = datetime.now(UTC)
    bus.subscribe(s, start_time=now - timedelta(seconds=1), stop_time=now + timedelta(seconds=0.2))
    wait_for(lambda: "notificationComplete" in s.kinds(), 5, "notificationComplete")
    assert s.kinds()[-1] == "notificationComplete"
    assert bus.subscription(1) is None


def test_replay_log_is_bounded() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    bus = NotificationBus(replay_size=2)
    for i in range(5):
        bus.publish(events.session_start(session(i + 1).info), t0 + timedelta(seconds=i))
    s = session(99)
    bus.subscribe(s, start_time=t0)
    assert s.kinds() == ["netconf-session-start"] * 2 + ["replayComplete"]


def test_subtree_filter_selects_events() -> None:
    bus = NotificationBus()
    s = session()
    spec = parse_filter(etree.fromstring(
        f'<filter xmlns="{BASE}"><netconf-session-end xmlns="{NC_NOTIFICATIONS}"/></filter>'))
    bus.subscribe(s, filter=spec)
    bus.publish(events.session_start(session(2).info))
    bus.publish(events.session_end(session(2).info, "closed"))
    assert s.kinds() == ["netconf-session-end"]
    assert s.got[0].findtext(f"{{{NOTIF}}}eventTime")


def test_xpath_filter_on_event_content() -> None:
    bus = NotificationBus()
    s = session()
    spec = parse_filter(etree.fromstring(
        f'<filter xmlns="{BASE}" xmlns:ncn="{NC_NOTIFICATIONS}" type="xpath" '
        'select="/ncn:netconf-session-end[ncn:termination-reason=\'killed\']"/>'))
    bus.subscribe(s, filter=spec)
    bus.publish(events.session_end(session(2).info, "closed"))
    bus.publish(events.session_end(session(3).info, "killed", killed_by=1))
    assert s.kinds() == ["netconf-session-end"]
    assert s.got[0].findtext(".//ncn:killed-by", namespaces=N) == "1"


def test_second_subscription_is_refused() -> None:
    bus = NotificationBus()
    s = session()
    bus.subscribe(s)
    with pytest.raises(ValueError):
        bus.subscribe(s)


def test_concurrent_publishers_deliver_everything() -> None:
    bus = NotificationBus(replay_size=10_000)
    s = session()
    bus.subscribe(s)
    threads = [threading.Thread(target=lambda: [bus.publish(events.session_start(s.info))
                                                for _ in range(100)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(s.got) == 400


def test_config_change_builder() -> None:
    ev = events.config_change(events.changed_by(session().info), "running",
                              [("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']", "merge")])
    assert ev.xpath("ncn:changed-by/ncn:session-id/text()", namespaces=N) == ["1"]
    target = ev.find(f"{{{NC_NOTIFICATIONS}}}edit/{{{NC_NOTIFICATIONS}}}target")
    assert target.nsmap["hvd-vm"] == VM
    server = events.config_change(events.SERVER, "running", [])
    assert server.find(f"{{{NC_NOTIFICATIONS}}}changed-by/{{{NC_NOTIFICATIONS}}}server") \
        is not None
    with pytest.raises(ValueError):
        events.config_change(events.SERVER, "candidate", [])


def test_session_end_killed_by_only_when_killed() -> None:
    info = session().info
    assert events.session_end(info, "closed", killed_by=4).find(
        f"{{{NC_NOTIFICATIONS}}}killed-by") is None
    ev = events.session_end(info, "killed", killed_by=4)
    assert ev.findtext(f"{{{NC_NOTIFICATIONS}}}killed-by") == "4"
    assert ev.findtext(f"{{{NC_NOTIFICATIONS}}}termination-reason") == "killed"


def test_confirmed_commit_builder() -> None:
    ev = events.confirmed_commit(events.changed_by(session().info), "start", timeout=600)
    assert ev.findtext(f"{{{NC_NOTIFICATIONS}}}timeout") == "600"
    tmo = events.confirmed_commit(events.SERVER, "timeout")
    assert tmo.find(f"{{{NC_NOTIFICATIONS}}}username") is None
    assert tmo.findtext(f"{{{NC_NOTIFICATIONS}}}confirm-event") == "timeout"


def test_time_round_trip() -> None:
    when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    assert parse_time(format_time(when)) == when
    assert parse_time("2026-03-04T06:06:07+01:00") == datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_time("2026-03-04T06:06:07")


def test_session_hooks_publish_session_events() -> None:
    bus = NotificationBus()
    started, ended = session_hooks(bus)
    watcher = session(1)
    bus.subscribe(watcher)
    other = session(2, "bob")
    started(other.info)
    bus.subscribe(other)
    ended(other.info, "killed", 1)
    assert bus.subscription(2) is None
    assert watcher.kinds() == ["netconf-session-start", "netconf-session-end"]
