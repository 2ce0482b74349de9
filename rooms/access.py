"""Makes access changes take effect on live sockets, on every instance."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import socketio

from rooms.connections import ConnectionRegistry
from rooms.names import project_room, user_room

ACCESS_REVOKED = "access:revoked"
ACCESS_CHANGED = "access:changed"
SESSION_ENDED = "session:ended"


class LiveAccess:
    """Implements ``application.ports.AccessNotifier``."""

    def __init__(self, sio: socketio.AsyncServer, connections: ConnectionRegistry) -> None:
        self._sio = sio
        self._connections = connections

    async def revoked(self, user_id: UUID, project_ids: list[UUID], info: dict[str, Any]) -> None:
        """Take every socket of ``user_id`` out of these projects' rooms, then say why."""
        for sid, _ in await self._connections.sockets(user_id):
            for project_id in project_ids:
                await self._sio.leave_room(sid, project_room(project_id))
        await self._sio.emit(
            ACCESS_REVOKED,
            {**info, "project_ids": [str(p) for p in project_ids]},
            room=user_room(user_id),
        )

    async def changed(self, user_id: UUID, info: dict[str, Any]) -> None:
        await self._sio.emit(ACCESS_CHANGED, info, room=user_room(user_id))

    async def ended(self, user_id: UUID, session_id: UUID | None, reason: str) -> None:
        """Implements ``application.ports.SessionNotifier``: the sockets of one login (or of
        all of them), wherever they are, hear why and are disconnected (the Redis manager
        routes both by sid)."""
        for sid, session in await self._connections.sockets(user_id):
            if session_id is None or session == str(session_id):
                await self._sio.emit(SESSION_ENDED, {"reason": reason}, to=sid)
                await self._sio.disconnect(sid)
