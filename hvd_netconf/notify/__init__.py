"""Notifications: the bus (RFC 5277 delivery and replay) and RFC 6470 event builders.

`attach(server)` gives a server its bus (`server.notifications`) and publishes
netconf-session-start/-end from the server's session hooks; the daemon calls it once.
"""

from __future__ import annotations

from typing import Any

from hvd_netconf.notify import events
from hvd_netconf.notify.bus import NETCONF_STREAM, NotificationBus, format_time, parse_time

__all__ = ["NETCONF_STREAM", "NotificationBus", "attach", "events", "format_time", "parse_time"]


def attach(server: Any, bus: NotificationBus | None = None) -> NotificationBus:
    """Install the bus on the server and wire the session start/end events."""
    bus = bus or NotificationBus()
    server.notifications = bus

    def started(info: Any) -> None:
        bus.publish(events.session_start(info))

    def ended(info: Any, reason: str, killed_by: int | None) -> None:
        bus.unsubscribe(info.id)
        bus.publish(events.session_end(info, reason, killed_by))

    server.add_session_start_hook(started)
    server.add_session_end_hook(ended)
    return bus
