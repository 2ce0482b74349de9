"""Socket.IO events: authenticate the connection, then parse -> call one service -> ack.

Every client event is acknowledged with ``{"ok": true, "data": ...}`` (mutations add ``seq``)
or ``{"ok": false, "error": {...}}`` (docs/protocol.md). Authorization happens in the
application layer, which receives the connection's user id.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import socketio
from opentelemetry import trace
from pydantic import BaseModel

from application import tracing
from application.auth_service import AuthService
from application.board_service import BoardService
from application.context import set_request
from application.membership_service import MembershipService
from application.notification_service import NotificationService
from application.outcomes import Outcome
from application.read_service import ReadService
from application.task_details_service import TaskDetailsService
from application.webhook_service import WebhookService
from auth.tokens import AccessClaims
from domain import commands as c
from domain.errors import InvalidPayload, NotFound, RateLimited, Unauthorized, Unavailable
from domain.integration import Origin
from domain.permissions import Action
from handlers.context import client_ip
from handlers.errors import error_ack
from handlers.limits import ConnectionLimits
from handlers.observe import NullRecorder, Recorder
from handlers.session_expiry import SESSION_EXPIRED, SessionExpiry
from rooms.broadcaster import RoomBroadcaster
from rooms.connections import ConnectionRegistry
from rooms.names import user_room
from rooms.presence import PresenceTracker

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


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A client event: the command it parses into and the permission-table action it is."""

    model: type[BaseModel]
    action: Action


# Every client event. The permission matrix test walks this table, so an event added here
# without a row in domain.permissions.PERMISSIONS fails the suite.
EVENTS: dict[str, EventSpec] = {
    "session:renew": EventSpec(c.RenewSession, Action.SESSION_RENEW),
    "workspace:list": EventSpec(c.ListWorkspaces, Action.WORKSPACE_LIST),
    "workspace:create": EventSpec(c.CreateWorkspace, Action.WORKSPACE_CREATE),
    "workspace:leave": EventSpec(c.LeaveWorkspace, Action.WORKSPACE_LEAVE),
    "member:list": EventSpec(c.ListMembers, Action.MEMBER_LIST),
    "member:invite": EventSpec(c.InviteMember, Action.MEMBER_INVITE),
    "member:set_role": EventSpec(c.SetMemberRole, Action.MEMBER_SET_ROLE),
    "member:remove": EventSpec(c.RemoveMember, Action.MEMBER_REMOVE),
    "project:list": EventSpec(c.ListProjects, Action.PROJECT_LIST),
    "project:create": EventSpec(c.CreateProject, Action.PROJECT_CREATE),
    "project:join": EventSpec(c.JoinProject, Action.PROJECT_READ),
    "project:leave": EventSpec(c.LeaveProject, Action.PROJECT_LEAVE_ROOM),
    "presence:set": EventSpec(c.SetPresence, Action.PROJECT_READ),
    "project_member:set_role": EventSpec(c.SetProjectRole, Action.PROJECT_MEMBER_SET_ROLE),
    "project_member:remove": EventSpec(c.RemoveProjectRole, Action.PROJECT_MEMBER_REMOVE),
    "column:create": EventSpec(c.CreateColumn, Action.COLUMN_WRITE),
    "column:rename": EventSpec(c.RenameColumn, Action.COLUMN_WRITE),
    "column:move": EventSpec(c.MoveColumn, Action.COLUMN_WRITE),
    "column:delete": EventSpec(c.DeleteColumn, Action.COLUMN_WRITE),
    "task:create": EventSpec(c.CreateTask, Action.TASK_WRITE),
    "task:update": EventSpec(c.UpdateTask, Action.TASK_WRITE),
    "task:move": EventSpec(c.MoveTask, Action.TASK_WRITE),
    "task:delete": EventSpec(c.DeleteTask, Action.TASK_WRITE),
    "task:archive": EventSpec(c.ArchiveTask, Action.TASK_WRITE),
    "task:restore": EventSpec(c.RestoreTask, Action.TASK_WRITE),
    "column:archive": EventSpec(c.ArchiveColumn, Action.COLUMN_WRITE),
    "column:restore": EventSpec(c.RestoreColumn, Action.COLUMN_WRITE),
    "task:assign": EventSpec(c.AssignTask, Action.TASK_WRITE),
    "task:unassign": EventSpec(c.UnassignTask, Action.TASK_WRITE),
    "task:watch": EventSpec(c.WatchTask, Action.TASK_WATCH),
    "task:unwatch": EventSpec(c.UnwatchTask, Action.TASK_WATCH),
    "label:create": EventSpec(c.CreateLabel, Action.LABEL_WRITE),
    "label:update": EventSpec(c.UpdateLabel, Action.LABEL_WRITE),
    "label:delete": EventSpec(c.DeleteLabel, Action.LABEL_WRITE),
    "task:label": EventSpec(c.LabelTask, Action.TASK_WRITE),
    "task:unlabel": EventSpec(c.UnlabelTask, Action.TASK_WRITE),
    "checklist:add": EventSpec(c.AddChecklistItem, Action.TASK_WRITE),
    "checklist:toggle": EventSpec(c.ToggleChecklistItem, Action.TASK_WRITE),
    "checklist:move": EventSpec(c.MoveChecklistItem, Action.TASK_WRITE),
    "checklist:delete": EventSpec(c.DeleteChecklistItem, Action.TASK_WRITE),
    "comment:create": EventSpec(c.CreateComment, Action.COMMENT_WRITE),
    "comment:edit": EventSpec(c.EditComment, Action.COMMENT_WRITE),
    "comment:delete": EventSpec(c.DeleteComment, Action.COMMENT_DELETE),
    "task:get": EventSpec(c.GetTask, Action.PROJECT_HISTORY),
    "project:history": EventSpec(c.ProjectHistory, Action.PROJECT_HISTORY),
    "task:history": EventSpec(c.TaskHistory, Action.PROJECT_HISTORY),
    "search": EventSpec(c.Search, Action.SEARCH),
    "webhook:create": EventSpec(c.CreateWebhook, Action.WEBHOOK_MANAGE),
    "webhook:delete": EventSpec(c.DeleteWebhook, Action.WEBHOOK_MANAGE),
    "webhook:list": EventSpec(c.ListWebhooks, Action.WEBHOOK_MANAGE),
    "webhook:deliveries": EventSpec(c.WebhookDeliveries, Action.WEBHOOK_MANAGE),
    "notifications:list": EventSpec(c.ListNotifications, Action.NOTIFICATIONS),
    "notifications:read": EventSpec(c.MarkNotificationsRead, Action.NOTIFICATIONS),
    "notifications:preferences": EventSpec(c.GetNotificationPreferences, Action.NOTIFICATIONS),
    "notifications:set_preferences": EventSpec(c.SetNotificationPreferences, Action.NOTIFICATIONS),
}


@dataclass(frozen=True, slots=True)
class _SocketRooms:
    """``application.ports.RoomMembership`` for one socket."""

    rooms: RoomBroadcaster
    sid: str

    async def enter(self, project_id: UUID) -> None:
        await self.rooms.enter(self.sid, project_id)

    async def leave(self, project_id: UUID) -> None:
        await self.rooms.leave(self.sid, project_id)


def _text_field(payload: dict[str, Any], name: str) -> str | None:
    """A short string field of an unvalidated payload, for log correlation only."""
    value = payload.get(name)
    return value[:64] if isinstance(value, str) else None


@contextlib.contextmanager
def _logged(what: str) -> Iterator[None]:
    """Log and swallow a failure of a side concern, so the event it rides on still succeeds."""
    try:
        yield
    except Exception:
        log.exception("%s failed", what)


# Outcomes that are the server's fault, so their spans are marked as errors (a client's
# invalid payload or missing permission is a correct answer, not a failed request).
_SERVER_FAULTS = frozenset({"internal", "unavailable"})


def _event_span(name: str, sid: str) -> AbstractContextManager[trace.Span]:
    """A trace of its own for each Socket.IO event, named after it (the connection's task
    would otherwise make every event of a connection one trace)."""
    return tracing.span(
        name,
        context=tracing.NEW_TRACE,
        kind=trace.SpanKind.SERVER,
        attributes={"rpc.system": "socket.io", "rpc.method": name, "boardroom.sid": sid},
    )


def _record_outcome(span: trace.Span, outcome: str) -> None:
    span.set_attribute("boardroom.outcome", outcome)
    if outcome in _SERVER_FAULTS:
        span.set_status(trace.StatusCode.ERROR, outcome)


# What a client event whose JSON does not parse arrives as (realtime.packets.TolerantPacket).
MALFORMED_EVENT = "boardroom:malformed"


class SocketHandlers:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        auth: AuthService,
        board: BoardService,
        membership: MembershipService,
        details: TaskDetailsService,
        reads: ReadService,
        notifications: NotificationService,
        webhooks: WebhookService,
        rooms: RoomBroadcaster,
        connections: ConnectionRegistry,
        limits: ConnectionLimits,
        presence: PresenceTracker,
        expiry_grace_seconds: float = 30.0,
        recorder: Recorder | None = None,
    ) -> None:
        self._sio = sio
        self._auth = auth
        self._board = board
        self._membership = membership
        self._details = details
        self._reads = reads
        self._notifications = notifications
        self._webhooks = webhooks
        self._rooms = rooms
        self._connections = connections
        self._limits = limits
        self._presence = presence
        # Who holds each open socket (user, login session), kept here rather than read back
        # from the Socket.IO session at disconnect: when many clients leave at once, Engine.IO
        # may have dropped that session before the disconnect handler runs.
        self._identities: dict[str, tuple[UUID, UUID]] = {}
        self.identities: Mapping[str, tuple[UUID, UUID]] = self._identities  # read-only view
        self._recorder: Recorder = recorder or NullRecorder()
        self._expiry = SessionExpiry(
            lambda sid, data: self._sio.emit(SESSION_EXPIRED, data, to=sid),
            lambda sid: self._sio.disconnect(sid),
            expiry_grace_seconds,
        )

    def register(self) -> None:
        self._sio.on("connect", self.connect)
        self._sio.on("disconnect", self.disconnect)
        self._sio.on(MALFORMED_EVENT, self.malformed)
        calls = self._calls()
        assert calls.keys() == EVENTS.keys(), "every event needs a spec and a call"
        for event, spec in EVENTS.items():
            self._sio.on(event, self._handler(event, spec.model, calls[event]))

    async def connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Authenticate with the access token of the ``auth`` payload, never the query string."""
        with _event_span("connect", sid) as span:
            try:
                await self._connect(sid, environ, auth)
            except socketio.exceptions.ConnectionRefusedError as exc:
                _record_outcome(span, exc.error_args.get("data", {}).get("code", "refused"))
                raise

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            claims = await self._auth.authenticate(token)
        except Unauthorized as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from exc
        user_id = claims.user_id
        try:
            self._limits.admit(sid, user_id)
        except (RateLimited, Unavailable) as exc:
            raise socketio.exceptions.ConnectionRefusedError(exc.message, exc.to_dict()) from exc
        try:
            await self._open(sid, user_id, claims, environ)
        except BaseException:
            self._limits.release(sid)  # a refused connect gets no disconnect event
            self._identities.pop(sid, None)
            raise

    async def _open(
        self, sid: str, user_id: UUID, claims: AccessClaims, environ: dict[str, Any]
    ) -> None:
        origin = Origin(
            transport="socket.io",
            ip=client_ip(_peer(environ)),
            user_agent=(environ.get("HTTP_USER_AGENT") or "")[:512] or None,
        )
        await self._sio.save_session(
            sid, {"user_id": user_id, "session_id": claims.session_id, "origin": origin}
        )
        await self._sio.enter_room(sid, user_room(user_id))
        self._identities[sid] = (user_id, claims.session_id)
        self._expiry.watch(sid, claims.expires_at)
        try:
            await self._connections.add(user_id, sid, claims.session_id)
        except Exception:
            # The registry only serves evictions; a socket still works without it.
            log.exception("could not register socket %s of user %s", sid, user_id)

    async def _announce(self, sid: str, user_id: UUID, project_id: UUID) -> None:
        """Show this socket among the project's viewers. Presence is a courtesy: if it fails
        (Redis down), the join still stands."""
        with _logged("presence"):
            session = await self._sio.get_session(sid)
            name = session.get("display_name")
            if name is None:
                name = session["display_name"] = await self._auth.display_name(user_id)
                await self._sio.save_session(sid, session)
            await self._presence.joined(sid, str(project_id), str(user_id), name)

    async def malformed(self, sid: str, *_: Any) -> Reply:
        """An event whose JSON did not parse spends the connection's budget like any other:
        a flood of garbage is refused ``rate_limited`` once over it."""
        try:
            self._limits.take(sid)
        except RateLimited as exc:
            return error_ack(exc)
        return error_ack(
            InvalidPayload(
                "The message is not valid JSON.",
                [{"field": "(payload)", "message": "not valid JSON", "type": "json_invalid"}],
            )
        )

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        with _event_span("disconnect", sid):
            await self._disconnect(sid)

    async def _disconnect(self, sid: str) -> None:
        self._limits.release(sid)
        self._expiry.forget(sid)
        with _logged("presence"):
            await self._presence.disconnected(sid)
        identity = self._identities.pop(sid, None)
        if identity is not None:
            try:
                await self._connections.remove(identity[0], sid, identity[1])
            except Exception:
                log.exception("could not unregister socket %s", sid)

    def _calls(self) -> dict[str, Call]:
        b, m, d, r = self._board, self._membership, self._details, self._reads
        n, wh = self._notifications, self._webhooks

        async def workspace_list(sid: str, user: UUID, cmd: c.ListWorkspaces) -> Reply:
            return _ok({"workspaces": [w.as_dict() for w in await b.list_workspaces(user)]})

        async def member_list(sid: str, user: UUID, cmd: c.ListMembers) -> Reply:
            return _ok(await m.list_members(user, cmd))

        async def project_list(sid: str, user: UUID, cmd: c.ListProjects) -> Reply:
            return _ok({"projects": [p.as_dict() for p in await b.list_projects(user, cmd)]})

        async def project_join(sid: str, user: UUID, cmd: c.JoinProject) -> Reply:
            reply = _ok(await b.join_project(user, cmd, _SocketRooms(self._rooms, sid)))
            await self._announce(sid, user, cmd.project_id)
            return reply

        async def presence_set(sid: str, user: UUID, cmd: c.SetPresence) -> Reply:
            task = str(cmd.editing_task_id) if cmd.editing_task_id else None
            if not await self._presence.editing(sid, str(cmd.project_id), task):
                raise NotFound(
                    f"Join project {cmd.project_id} on this connection first.",
                    {"field": "project_id", "id": str(cmd.project_id)},
                )
            return _ok({"project_id": str(cmd.project_id), "editing_task_id": task})

        async def session_renew(sid: str, user: UUID, cmd: c.RenewSession) -> Reply:
            """Swap the socket's expiring access token for a fresh one of the same user."""
            claims = await self._auth.authenticate(cmd.access_token)
            if claims.user_id != user:
                raise Unauthorized(
                    "That token belongs to another account.", {"reason": "other_user"}
                )
            session = await self._sio.get_session(sid)
            if session["session_id"] != claims.session_id:
                await self._connections.remove(user, sid, session["session_id"])
                await self._connections.add(user, sid, claims.session_id)
            session["session_id"] = claims.session_id
            await self._sio.save_session(sid, session)
            self._expiry.watch(sid, claims.expires_at)
            return _ok({"expires_at": claims.expires_at})

        async def project_leave(sid: str, user: UUID, cmd: c.LeaveProject) -> Reply:
            await self._rooms.leave(sid, cmd.project_id)
            with _logged("presence"):
                await self._presence.left(sid, str(cmd.project_id))
            return _ok({"project_id": str(cmd.project_id)})

        async def prefs_get(sid: str, user: UUID, cmd: c.GetNotificationPreferences) -> Reply:
            return _ok((await n.preferences(user)).as_dict())

        async def prefs_set(sid: str, user: UUID, cmd: c.SetNotificationPreferences) -> Reply:
            return _ok((await n.set_preferences(user, cmd)).as_dict())

        def query(service: Callable[[UUID, Any], Awaitable[Any]]) -> Call:
            async def call(sid: str, user: UUID, cmd: Any) -> Reply:
                return _ok(await service(user, cmd))

            return call

        def mutation(service: Callable[[UUID, Any], Awaitable[Outcome]]) -> Call:
            async def call(sid: str, user: UUID, cmd: Any) -> Reply:
                return _mutation(await service(user, cmd))

            return call

        return {
            "session:renew": session_renew,
            "workspace:list": workspace_list,
            "workspace:create": mutation(b.create_workspace),
            "workspace:leave": mutation(m.leave),
            "member:list": member_list,
            "member:invite": mutation(m.invite),
            "member:set_role": mutation(m.set_role),
            "member:remove": mutation(m.remove),
            "project:list": project_list,
            "project:create": mutation(b.create_project),
            "project:join": project_join,
            "project:leave": project_leave,
            "presence:set": presence_set,
            "project_member:set_role": mutation(m.set_project_role),
            "project_member:remove": mutation(m.remove_project_role),
            "column:create": mutation(b.create_column),
            "column:rename": mutation(b.rename_column),
            "column:move": mutation(b.move_column),
            "column:delete": mutation(b.delete_column),
            "task:create": mutation(b.create_task),
            "task:update": mutation(b.update_task),
            "task:move": mutation(b.move_task),
            "task:delete": mutation(b.delete_task),
            "task:archive": mutation(d.archive_task),
            "task:restore": mutation(d.restore_task),
            "column:archive": mutation(d.archive_column),
            "column:restore": mutation(d.restore_column),
            "task:assign": mutation(d.assign),
            "task:unassign": mutation(d.unassign),
            "task:watch": mutation(d.watch),
            "task:unwatch": mutation(d.unwatch),
            "label:create": mutation(d.create_label),
            "label:update": mutation(d.update_label),
            "label:delete": mutation(d.delete_label),
            "task:label": mutation(d.label_task),
            "task:unlabel": mutation(d.unlabel_task),
            "checklist:add": mutation(d.add_checklist_item),
            "checklist:toggle": mutation(d.toggle_checklist_item),
            "checklist:move": mutation(d.move_checklist_item),
            "checklist:delete": mutation(d.delete_checklist_item),
            "comment:create": mutation(d.create_comment),
            "comment:edit": mutation(d.edit_comment),
            "comment:delete": mutation(d.delete_comment),
            "task:get": query(r.get_task),
            "project:history": query(r.history),
            "task:history": query(r.task_history),
            "search": query(r.search),
            "webhook:create": mutation(wh.create),
            "webhook:delete": mutation(wh.delete),
            "webhook:list": query(wh.list),
            "webhook:deliveries": query(wh.deliveries),
            "notifications:list": query(n.list),
            "notifications:read": query(n.mark_read),
            "notifications:preferences": prefs_get,
            "notifications:set_preferences": prefs_set,
        }

    def _handler(
        self, event_name: str, model: type[BaseModel], call: Call
    ) -> Callable[..., Awaitable[Reply]]:
        async def handle(sid: str, *args: Any) -> Reply:
            started = time.perf_counter()
            with _event_span(event_name, sid) as span:
                reply = await self._handle(event_name, model, call, sid, args)
                seconds = time.perf_counter() - started
                outcome = "ok" if reply["ok"] else reply["error"]["code"]
                _record_outcome(span, outcome)
                self._recorder.socket_event(event_name, outcome, seconds)
                if log.isEnabledFor(logging.DEBUG):  # hot path: build the extras only when logged
                    log.debug(
                        "handled %s",
                        event_name,
                        extra={"outcome": outcome, "duration_ms": round(seconds * 1000, 2)},
                    )
            return reply

        return handle

    async def _handle(
        self, event_name: str, model: type[BaseModel], call: Call, sid: str, args: tuple[Any, ...]
    ) -> Reply:
        try:
            self._limits.take(sid)  # over a rate: refused, nothing changes
            payload = args[0] if len(args) == 1 else ({} if not args else None)
            if not isinstance(payload, dict):
                raise InvalidPayload(
                    "The payload must be one JSON object.",
                    [{"field": "(payload)", "message": "expected an object"}],
                )
            session = await self._sio.get_session(sid)
            trace.get_current_span().set_attribute("enduser.id", str(session.get("user_id")))
            set_request(
                session.get("origin") or Origin(transport="socket.io"),
                sid=sid,
                user_id=session.get("user_id"),
                event=event_name,
                op_id=_text_field(payload, "op_id"),
                project_id=_text_field(payload, "project_id"),
                workspace_id=_text_field(payload, "workspace_id"),
            )
            cmd = model.model_validate(payload)
            return await call(sid, session["user_id"], cmd)
        except Exception as exc:
            return error_ack(exc)


def _peer(environ: dict[str, Any]) -> str | None:
    """The client's address: python-engineio's aiohttp driver puts a fixed 127.0.0.1 in
    ``REMOTE_ADDR``, so read the aiohttp request it keeps (its ``remote`` already resolved
    behind trusted proxies, handlers.proxies)."""
    request = environ.get("aiohttp.request")
    remote = getattr(request, "remote", None)
    return remote if isinstance(remote, str) else environ.get("REMOTE_ADDR")
