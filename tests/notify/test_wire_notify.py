"""RFC 5277 create-subscription and RFC 6470 session events over the wire (ncclient)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree
from ncclient.operations import RPCError
from support.server import HvdInstance

from hvd_netconf.namespaces import BASE, NC_NOTIFICATIONS, NETMOD_NOTIF, NOTIF, VM
from hvd_netconf.notify import events, format_time
from hvd_netconf.ops.notifications import CAP_INTERLEAVE, CAP_NOTIFICATION

N = {"ncn": NC_NOTIFICATIONS, "n": NOTIF}


def take(m: Any, timeout: float = 5.0) -> etree._Element:
    notif = m.take_notification(block=True, timeout=timeout)
    assert notif is not None, "no notification arrived"
    return etree.fromstring(notif.notification_xml.encode())


def event_name(env: etree._Element) -> str:
    return etree.QName(env[1]).localname


def sub_xml(inner: str) -> etree._Element:
    return etree.fromstring(f'<create-subscription xmlns="{NOTIF}">{inner}</create-subscription>')


def test_capabilities(hvd: HvdInstance) -> None:
    caps = list(hvd.connect_uds().server_capabilities)
    assert CAP_NOTIFICATION in caps and CAP_INTERLEAVE in caps


def test_session_start_and_end_seen_by_subscriber(hvd: HvdInstance) -> None:
    watcher = hvd.connect_uds()
    watcher.create_subscription()
    other = hvd.connect_ssh()
    sid = str(other.session_id)
    start = take(watcher)
    assert event_name(start) == "netconf-session-start"
    assert start.findtext(".//ncn:session-id", namespaces=N) == sid
    assert start.findtext(".//ncn:username", namespaces=N) == hvd.username
    assert start.findtext(".//ncn:source-host", namespaces=N) == "127.0.0.1"
    other.close_session()
    end = take(watcher)
    assert event_name(end) == "netconf-session-end"
    assert end.findtext(".//ncn:session-id", namespaces=N) == sid
    assert end.findtext(".//ncn:termination-reason", namespaces=N) == "closed"
    assert end.find(".//ncn:killed-by", namespaces=N) is None


def test_kill_session_reports_killed_by(hvd: HvdInstance) -> None:
    watcher = hvd.connect_uds()
    victim = hvd.connect_uds()
    watcher.create_subscription(filter=("subtree",
                                        f'<netconf-session-end xmlns="{NC_NOTIFICATIONS}"/>'))
    watcher.kill_session(victim.session_id)
    end = take(watcher)
    assert end.findtext(".//ncn:termination-reason", namespaces=N) == "killed"
    assert end.findtext(".//ncn:killed-by", namespaces=N) == str(watcher.session_id)
    assert end.findtext(".//ncn:session-id", namespaces=N) == str(victim.session_id)


def test_rpcs_interleave_with_a_subscription(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.create_subscription()
    reply = m.get_config("running", filter=("subtree", f'<vms xmlns="{VM}"/>'))
    assert "web" in reply.xml
    hvd.server.notifications.publish(events.config_change(events.SERVER, "running", []))
    assert event_name(take(m)) == "netconf-config-change"


def test_replay_then_replay_complete(hvd: HvdInstance) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    m = hvd.connect_uds()  # its own session-start is in the replay log
    m.create_subscription(start_time=format_time(before))
    first = take(m)
    assert event_name(first) == "netconf-session-start"
    assert first.findtext(".//ncn:session-id", namespaces=N) == str(m.session_id)
    assert etree.QName(first[1]).namespace == NC_NOTIFICATIONS
    assert event_name(take(m)) == "replayComplete"


def test_stop_time_ends_with_notification_complete(hvd: HvdInstance) -> None:
    now = datetime.now(UTC)
    m = hvd.connect_uds()
    m.create_subscription(start_time=format_time(now - timedelta(seconds=5)),
                          stop_time=format_time(now + timedelta(seconds=0.3)))
    names = []
    deadline = time.monotonic() + 5
    while "notificationComplete" not in names and time.monotonic() < deadline:
        names.append(event_name(take(m)))
    assert "replayComplete" in names
    assert names[-1] == "notificationComplete"
    assert hvd.server.notifications.subscription(int(m.session_id)) is None
    m.create_subscription()  # the session may subscribe again once the old one is over


@pytest.mark.parametrize(("inner", "tag"), [
    (f"<stopTime>{format_time(datetime.now(UTC))}</stopTime>", "missing-element"),
    (f"<startTime>{format_time(datetime.now(UTC) + timedelta(days=1))}</startTime>",
     "bad-element"),
    (f"<startTime>{format_time(datetime.now(UTC) - timedelta(hours=1))}</startTime>"
     f"<stopTime>{format_time(datetime.now(UTC) - timedelta(hours=2))}</stopTime>",
     "bad-element"),
    ("<stream>NO-SUCH-STREAM</stream>", "invalid-value"),
    ("<startTime>yesterday</startTime>", "invalid-value"),
    (f'<filter xmlns="{BASE}" type="xpath" select="/zz:x"/>', "invalid-value"),
], ids=["stop-without-start", "start-in-future", "stop-before-start", "unknown-stream",
        "bad-time", "undeclared-prefix"])
def test_create_subscription_refusals(hvd: HvdInstance, inner: str, tag: str) -> None:
    m = hvd.connect_uds()
    with pytest.raises(RPCError) as info:
        m.dispatch(sub_xml(inner))
    assert info.value.tag == tag
    assert hvd.server.notifications.subscription(int(m.session_id)) is None


def test_second_subscription_is_in_use(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.create_subscription()
    with pytest.raises(RPCError) as info:
        m.create_subscription()
    assert info.value.tag == "in-use"


def test_xpath_filtered_subscription(hvd: HvdInstance) -> None:
    m = hvd.connect_uds()
    m.dispatch(sub_xml(f'<filter xmlns="{BASE}" xmlns:ncn="{NC_NOTIFICATIONS}" type="xpath" '
                       'select="/ncn:netconf-config-change[ncn:datastore=\'running\']"/>'))
    bus = hvd.server.notifications
    bus.publish(events.session_start(hvd.server.sessions.get(int(m.session_id)).info))
    bus.publish(events.config_change(events.SERVER, "startup", []))
    bus.publish(events.config_change(events.SERVER, "running",
                                     [("/hvd-vm:vms/hvd-vm:vm[hvd-vm:name='web']", "merge")]))
    env = take(m)
    assert event_name(env) == "netconf-config-change"
    assert env.findtext(".//ncn:datastore", namespaces=N) == "running"
    assert m.take_notification(block=True, timeout=0.2) is None


def test_streams_listed(hvd: HvdInstance) -> None:
    reply = hvd.connect_uds().get(filter=("subtree", f'<netconf xmlns="{NETMOD_NOTIF}"/>'))
    data = etree.fromstring(reply.xml.encode())
    s = {"s": NETMOD_NOTIF}
    assert data.xpath("//s:stream/s:name/text()", namespaces=s) == ["NETCONF"]
    assert data.xpath("//s:stream/s:replaySupport/text()", namespaces=s) == ["true"]
    assert data.xpath("//s:stream/s:replayLogCreationTime/text()", namespaces=s)[0].endswith("Z")
