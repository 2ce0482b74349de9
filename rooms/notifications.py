"""Pushes stored notifications to ``user:<id>`` rooms from outside the web server.

The worker is not a Socket.IO server: a write-only Redis manager publishes on the servers'
channel, and whichever instance holds the user's sockets delivers (ADR 0019).
"""

from __future__ import annotations

from typing import Any

import orjson
import socketio

from domain.models import Notification
from rooms.names import user_room

NOTIFICATION_EVENT = "notification"


def plain(value: dict[str, Any]) -> dict[str, Any]:
    """JSON-native values only (UUIDs and datetimes as strings) for the manager's codec."""
    result: dict[str, Any] = orjson.loads(orjson.dumps(value, default=str))
    return result


class RoomNotificationPusher:
    """Implements ``application.ports.NotificationPusher`` with a write-only Redis manager."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self._manager = socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True)

    async def push(self, notification: Notification) -> None:
        await self._manager.emit(
            NOTIFICATION_EVENT,
            plain(notification.as_dict()),
            namespace="/",
            room=user_room(notification.user_id),
        )
