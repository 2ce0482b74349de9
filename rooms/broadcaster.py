"""Delivers committed project events to the project's room on every instance.

The Socket.IO client manager (python-socketio's ``AsyncRedisManager`` when Redis is configured)
carries the emit to the other instances; this class only names the room and the wire event.
"""

from __future__ import annotations

import socketio

from domain.models import ProjectEvent
from rooms.names import project_room

PROJECT_EVENT = "event"


class RoomBroadcaster:
    """Implements ``application.ports.EventPublisher`` on a Socket.IO server."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def publish(self, event: ProjectEvent) -> None:
        await self._sio.emit(PROJECT_EVENT, event.as_dict(), room=project_room(event.project_id))

    async def enter(self, sid: str, project_id: object) -> None:
        await self._sio.enter_room(sid, project_room(str(project_id)))

    async def leave(self, sid: str, project_id: object) -> None:
        await self._sio.leave_room(sid, project_room(str(project_id)))
