"""Socket.IO events: authenticate the connection, then parse -> call one service -> ack.

Every client event is acknowledged with ``{"ok": true, "data": ...}`` (mutations add ``seq``)
or ``{"ok": false, "error": {...}}`` (docs/protocol.md). Authorization happens in the
application layer, which receives the connection's user id.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import socketio
from pydantic import BaseModel

from application.auth_service import AuthService
from application.board_service import BoardService
from application.outcomes import Outcome
from domain import commands as c
from domain.errors import InvalidPayload, Unauthorized
from handlers.errors import error_ack
from rooms.broadcaster import RoomBroadcaster
from rooms.names import user_room

log = logging.getLogger(__name__)

Reply = dict[str, Any]
Call = Callable[[str, UUID, Any], Awaitable[Reply]]


def _mutation(outcome: Outcome) -> Reply:
    reply: Reply = {"ok": True, "data": outcome.result}
    if outcome.seq is not None:
        reply["seq"] = outcome.seq
    return reply


def _ok(data: Any) -> Reply:
    return {"ok": True, "data": data}


class SocketHandlers:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        auth: AuthService,
        board: BoardService,
        rooms: RoomBroadcaster,
    ) -> None:
        self._sio = sio
        self._auth = auth
        self._board = board
        self._rooms = rooms

    def register(self) -> None:
        self._sio.on("connect", self.connect)
        for event, model, call in self._table():
            self._sio.on(event, self._handler(model, call))

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Authenticate with the access token of the ``auth`` payload, never the query string."""
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            user_id = self._auth.authenticate(token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from exc
        await self._sio.save_session(sid, {"user_id": user_id})
        await self._sio.enter_room(sid, user_room(user_id))

    def _table(self) -> list[tuple[str, type[BaseModel], Call]]:
        b = self._board

        async def workspace_list(sid: str, user: UUID, cmd: c.ListWorkspaces) -> Reply:
            return _ok({"workspaces": [w.as_dict() for w in await b.list_workspaces(user)]})

        async def project_list(sid: str, user: UUID, cmd: c.ListProjects) -> Reply:
            return _ok({"projects": [p.as_dict() for p in await b.list_projects(user, cmd)]})

        async def project_join(sid: str, user: UUID, cmd: c.JoinProject) -> Reply:
            async def enter(project_id: UUID) -> None:
                await self._rooms.enter(sid, project_id)

            return _ok((await b.join_project(user, cmd, enter)).as_dict())

        async def project_leave(sid: str, user: UUID, cmd: c.LeaveProject) -> Reply:
            await self._rooms.leave(sid, cmd.project_id)
            return _ok({"project_id": str(cmd.project_id)})

        def mutation(service: Callable[[UUID, Any], Awaitable[Outcome]]) -> Call:
            async def call(sid: str, user: UUID, cmd: Any) -> Reply:
                return _mutation(await service(user, cmd))

            return call

        return [
            ("workspace:list", c.ListWorkspaces, workspace_list),
            ("workspace:create", c.CreateWorkspace, mutation(b.create_workspace)),
            ("project:list", c.ListProjects, project_list),
            ("project:create", c.CreateProject, mutation(b.create_project)),
            ("project:join", c.JoinProject, project_join),
            ("project:leave", c.LeaveProject, project_leave),
            ("column:create", c.CreateColumn, mutation(b.create_column)),
            ("column:rename", c.RenameColumn, mutation(b.rename_column)),
            ("column:move", c.MoveColumn, mutation(b.move_column)),
            ("column:delete", c.DeleteColumn, mutation(b.delete_column)),
            ("task:create", c.CreateTask, mutation(b.create_task)),
            ("task:update", c.UpdateTask, mutation(b.update_task)),
            ("task:move", c.MoveTask, mutation(b.move_task)),
            ("task:delete", c.DeleteTask, mutation(b.delete_task)),
        ]

    def _handler(self, model: type[BaseModel], call: Call) -> Callable[..., Awaitable[Reply]]:
        async def handle(sid: str, *args: Any) -> Reply:
            try:
                payload = args[0] if len(args) == 1 else ({} if not args else None)
                if not isinstance(payload, dict):
                    raise InvalidPayload(
                        "The payload must be one JSON object.",
                        [{"field": "(payload)", "message": "expected an object"}],
                    )
                cmd = model.model_validate(payload)
                session = await self._sio.get_session(sid)
                return await call(sid, session["user_id"], cmd)
            except Exception as exc:
                return error_ack(exc)

        return handle
