"""Notifications: the bus (RFC 5277 delivery and replay) and RFC 6470 event builders.

`session_hooks(bus)` are the server's session start/end hooks that publish
netconf-session-start/-end; the daemon installs them with the bus.
"""

from __future__ import annotations

from collections.abc import Callable

from hvd_netconf.calls import SessionInfo
from hvd_netconf.notify import events
from hvd_netconf.notify.bus import NETCONF_STREAM, NotificationBus, format_time, parse_time

__all__ = ["NETCONF_STREAM", "NotificationBus", "events", "format_time", "parse_time",
           "session_hooks"]


def session_hooks(bus: NotificationBus) -> tuple[Callable[[SessionInfo], None],
                                                 Callable[[SessionInfo, str, int | None], None]]:
    """The session start and end hooks: publish the events; an ended session's
    subscription goes."""

    def started(info: SessionInfo) -> None:
        bus.publish(events.session_start(info))

    def ended(info: SessionInfo, reason: str, killed_by: int | None) -> None:
        bus.unsubscribe(info.id)
        bus.publish(events.session_end(info, reason, killed_by))

    return started, ended
