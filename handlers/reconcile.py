"""Access changes that did not reach this instance, applied after the fact.

Revocations (a member removed, a login ended) reach the sockets on other instances as
messages through Redis pub/sub. A message published while this instance's listener was away
(a Redis outage, a network blip) is lost, and the socket it was for would go on receiving a
project it may no longer see. So each time the listener comes back, every socket of this
instance is checked against the database, the source of truth: sockets whose login has ended
are told and disconnected, sockets in rooms of projects their user can no longer read leave
those rooms and are told.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from uuid import UUID

import socketio

from application.auth_service import AuthService
from application.board_service import BoardService
from rooms.access import ACCESS_REVOKED, SESSION_ENDED
from rooms.names import project_of_room, project_room

log = logging.getLogger(__name__)


class AccessReconciler:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        auth: AuthService,
        board: BoardService,
        identities: Mapping[str, tuple[UUID, UUID]],
    ) -> None:
        self._sio = sio
        self._auth = auth
        self._board = board
        self._identities = identities  # sid -> (user, login) of this instance's sockets

    async def run(self) -> None:
        """Check every local socket once; a failure is logged (the next run checks again)."""
        try:
            await self._run()
        except Exception:
            log.exception("could not reconcile live access after the Redis listener returned")

    async def _run(self) -> None:
        sockets = dict(self._identities)
        live = await self._auth.live_logins({login for _, login in sockets.values()})
        ended = revoked = 0
        for sid, (user_id, login) in sockets.items():
            if login not in live:
                await self._sio.emit(SESSION_ENDED, {"reason": "revoked"}, to=sid)
                await self._sio.disconnect(sid)
                ended += 1
                continue
            joined = {p for room in self._sio.rooms(sid) if (p := project_of_room(room))}
            lost = joined - await self._board.readable_projects(user_id, joined)
            for project_id in lost:
                await self._sio.leave_room(sid, project_room(project_id))
            if lost:
                info = {"reason": "access_lost", "project_ids": sorted(str(p) for p in lost)}
                await self._sio.emit(ACCESS_REVOKED, info, to=sid)
                revoked += 1
        log.info(
            "reconciled %d sockets after the Redis listener returned: %d logins ended, "
            "%d lost projects",
            len(sockets),
            ended,
            revoked,
        )
