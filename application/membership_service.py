"""Workspace and project membership: invite, change a role, remove, leave (ADR 0011).

Changes are checked against the permission table, committed with their op (idempotent like
every mutation), and then take effect on live sockets on every instance: a removed user leaves
the rooms at once and is told why; a changed role is announced, and the next operation is
checked against the new role anyway because every operation reads roles from the database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg

from application import integration_events
from application.access import project_access, workspace_access
from application.outcomes import Outcome, claim_op, record_outcome
from application.ports import AccessNotifier
from domain import commands as c
from domain.errors import Conflict, Forbidden, NotFound
from domain.integration import SecurityEventType
from domain.permissions import (
    Action,
    WorkspaceRole,
    effective_project_role,
    may_manage,
)
from persistence import invitations, members, projects, users, workspaces
from persistence.db import Connection
from persistence.errors import DuplicateKey

log = logging.getLogger(__name__)

# Work to do once the transaction has committed (tell live sockets).
AfterCommit = Callable[[], Awaitable[None]]


def _not_yours(actor: WorkspaceRole, action: Action, what: str) -> Forbidden:
    return Forbidden(
        f"Your role '{actor}' may not {what}: only owners manage owners.",
        {"action": str(action), "role": str(actor)},
    )


def _no_member(user_id: UUID) -> NotFound:
    return NotFound(f"No member {user_id} here.", {"field": "user_id", "id": str(user_id)})


class MembershipService:
    def __init__(self, pool: asyncpg.Pool, notifier: AccessNotifier) -> None:
        self._pool = pool
        self._notify = notifier

    async def list_members(self, user_id: UUID, cmd: c.ListMembers) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            await workspace_access(conn, cmd.workspace_id, user_id, Action.MEMBER_LIST)
            return {
                "members": [
                    m.as_dict() for m in await members.list_members(conn, cmd.workspace_id)
                ],
                "invitations": [
                    i.as_dict()
                    for i in await invitations.pending_in_workspace(conn, cmd.workspace_id)
                ],
            }

    async def invite(self, user_id: UUID, cmd: c.InviteMember) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            actor = await workspace_access(conn, cmd.workspace_id, user_id, Action.MEMBER_INVITE)
            role = WorkspaceRole(cmd.role)
            if not may_manage(actor, WorkspaceRole.GUEST, role):
                raise _not_yours(actor, Action.MEMBER_INVITE, f"invite someone as {role}")
            if cmd.project_id is not None:
                access, _ = await project_access(
                    conn, cmd.project_id, user_id, Action.PROJECT_MEMBER_SET_ROLE
                )
                if access.project.workspace_id != cmd.workspace_id:
                    raise NotFound(
                        f"No project {cmd.project_id} in this workspace.",
                        {"field": "project_id", "id": str(cmd.project_id)},
                    )
            existing = await users.find_by_email(conn, str(cmd.email))
            if existing is None:
                try:
                    invitation = await invitations.insert(
                        conn,
                        uuid.uuid4(),
                        cmd.workspace_id,
                        str(cmd.email),
                        role.value,
                        cmd.project_id,
                        cmd.project_role.value if cmd.project_role else None,
                        user_id,
                    )
                except DuplicateKey as exc:
                    raise Conflict(
                        "This address already has a pending invitation.", {"field": "email"}
                    ) from exc
                return {"status": "invited", "invitation": invitation.as_dict()}, None
            if not await members.add(conn, cmd.workspace_id, existing.id, role):
                raise Conflict("This person is already a member.", {"field": "email"})
            if cmd.project_id is not None and cmd.project_role is not None:
                await projects.set_member_role(conn, cmd.project_id, existing.id, cmd.project_role)
            info = {"reason": "invited", "workspace_id": str(cmd.workspace_id), "role": role.value}
            result = {"status": "added", "user_id": str(existing.id), "role": role.value}
            return result, lambda: self._notify.changed(existing.id, info)

        return await self._run(user_id, cmd, SecurityEventType.MEMBER_INVITED, apply)

    async def set_role(self, user_id: UUID, cmd: c.SetMemberRole) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            actor = await workspace_access(conn, cmd.workspace_id, user_id, Action.MEMBER_SET_ROLE)
            current = await workspaces.role_of(conn, cmd.workspace_id, cmd.user_id)
            if current is None:
                raise _no_member(cmd.user_id)
            if not may_manage(actor, current, cmd.role):
                raise _not_yours(
                    actor, Action.MEMBER_SET_ROLE, f"change role {current} to {cmd.role}"
                )
            await _keep_an_owner(conn, cmd.workspace_id, current, cmd.role)
            await members.set_role(conn, cmd.workspace_id, cmd.user_id, cmd.role)
            # A new guest keeps only the projects they hold an explicit role in.
            lost = []
            if cmd.role is WorkspaceRole.GUEST:
                kept = {
                    p.id
                    for p in await projects.list_with_explicit_role(
                        conn, cmd.workspace_id, cmd.user_id
                    )
                }
                lost = [
                    pid
                    for pid in await projects.ids_in_workspace(conn, cmd.workspace_id)
                    if pid not in kept
                ]
            info = {
                "reason": "role_changed",
                "workspace_id": str(cmd.workspace_id),
                "role": cmd.role.value,
            }

            async def after() -> None:
                if lost:
                    await self._notify.revoked(cmd.user_id, lost, info)
                await self._notify.changed(cmd.user_id, info)

            return {"user_id": str(cmd.user_id), "role": cmd.role.value}, after

        return await self._run(user_id, cmd, SecurityEventType.MEMBER_ROLE_CHANGED, apply)

    async def remove(self, user_id: UUID, cmd: c.RemoveMember) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            actor = await workspace_access(conn, cmd.workspace_id, user_id, Action.MEMBER_REMOVE)
            current = await workspaces.role_of(conn, cmd.workspace_id, cmd.user_id)
            if current is None:
                raise _no_member(cmd.user_id)
            if not may_manage(actor, current, None):
                raise _not_yours(
                    actor, Action.MEMBER_REMOVE, f"remove someone whose role is {current}"
                )
            return await self._leave(conn, cmd.workspace_id, cmd.user_id, current, "removed")

        return await self._run(user_id, cmd, SecurityEventType.MEMBER_REMOVED, apply)

    async def leave(self, user_id: UUID, cmd: c.LeaveWorkspace) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            current = await workspace_access(
                conn, cmd.workspace_id, user_id, Action.WORKSPACE_LEAVE
            )
            return await self._leave(conn, cmd.workspace_id, user_id, current, "left")

        return await self._run(user_id, cmd, SecurityEventType.MEMBER_LEFT, apply)

    async def set_project_role(self, user_id: UUID, cmd: c.SetProjectRole) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            access, _ = await project_access(
                conn, cmd.project_id, user_id, Action.PROJECT_MEMBER_SET_ROLE
            )
            ws_role = await workspaces.role_of(conn, access.project.workspace_id, cmd.user_id)
            if ws_role is None:
                raise _no_member(cmd.user_id)
            await projects.set_member_role(conn, cmd.project_id, cmd.user_id, cmd.role)
            effective = effective_project_role(ws_role, cmd.role)
            info = {
                "reason": "project_role_changed",
                "project_id": str(cmd.project_id),
                "role": effective.value if effective else None,
            }
            result = {
                "user_id": str(cmd.user_id),
                "project_id": str(cmd.project_id),
                "role": cmd.role.value,
            }
            return result, lambda: self._notify.changed(cmd.user_id, info)

        return await self._run(user_id, cmd, SecurityEventType.PROJECT_ROLE_SET, apply)

    async def remove_project_role(self, user_id: UUID, cmd: c.RemoveProjectRole) -> Outcome:
        async def apply(conn: Connection) -> tuple[dict[str, Any], AfterCommit | None]:
            access, _ = await project_access(
                conn, cmd.project_id, user_id, Action.PROJECT_MEMBER_REMOVE
            )
            ws_role = await workspaces.role_of(conn, access.project.workspace_id, cmd.user_id)
            if ws_role is None or not await projects.remove_member_role(
                conn, cmd.project_id, cmd.user_id
            ):
                raise _no_member(cmd.user_id)
            effective = effective_project_role(ws_role, None)
            info = {
                "reason": "project_role_removed",
                "project_id": str(cmd.project_id),
                "role": effective.value if effective else None,
            }

            async def after() -> None:
                if effective is None:
                    await self._notify.revoked(cmd.user_id, [cmd.project_id], info)
                else:
                    await self._notify.changed(cmd.user_id, info)

            return {"user_id": str(cmd.user_id), "project_id": str(cmd.project_id)}, after

        return await self._run(user_id, cmd, SecurityEventType.PROJECT_ROLE_REMOVED, apply)

    # --- shared paths ---------------------------------------------------------------------

    async def _leave(
        self,
        conn: Connection,
        workspace_id: UUID,
        member_id: UUID,
        current: WorkspaceRole,
        reason: str,
    ) -> tuple[dict[str, Any], AfterCommit]:
        await _keep_an_owner(conn, workspace_id, current, None)
        project_ids = await projects.ids_in_workspace(conn, workspace_id)
        await members.remove(conn, workspace_id, member_id)
        info = {"reason": reason, "workspace_id": str(workspace_id)}
        result = {"user_id": str(member_id), "workspace_id": str(workspace_id)}
        return result, lambda: self._notify.revoked(member_id, project_ids, info)

    async def _run(
        self,
        user_id: UUID,
        cmd: c.Mutation,
        event_type: SecurityEventType,
        apply: Callable[[Connection], Awaitable[tuple[dict[str, Any], AfterCommit | None]]],
    ) -> Outcome:
        """Claim the op, apply, write the security event, record the answer, commit; then act
        on live sockets."""
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            result, after_commit = await apply(conn)
            await _record(conn, user_id, cmd, event_type, result)
            outcome = Outcome(result)
            await record_outcome(conn, user_id, cmd, outcome)
        if after_commit is not None:
            try:
                await after_commit()
            except Exception:
                # Committed is committed: the roles in the database already govern every next
                # operation; only the live notice (and eviction) failed, so log, do not fail.
                log.exception("live access update failed after commit (op %s)", cmd.op_id)
        return outcome


async def _keep_an_owner(
    conn: Connection, workspace_id: UUID, current: WorkspaceRole, new: WorkspaceRole | None
) -> None:
    """A workspace always keeps at least one owner."""
    await workspaces.lock(conn, workspace_id)
    losing_an_owner = current is WorkspaceRole.OWNER and new is not WorkspaceRole.OWNER
    if losing_an_owner and await members.owner_count(conn, workspace_id) <= 1:
        raise Conflict(
            "A workspace needs an owner: make someone else owner first.",
            {"field": "user_id", "reason": "last_owner"},
        )


async def _record(
    conn: Connection,
    actor_id: UUID,
    cmd: c.Mutation,
    event_type: SecurityEventType,
    result: dict[str, Any],
) -> None:
    """The membership change as a security event of its workspace (audited, ADR 0018)."""
    project_id: UUID | None = getattr(cmd, "project_id", None)
    workspace_id: UUID | None = getattr(cmd, "workspace_id", None)
    if workspace_id is None and project_id is not None:
        found = await projects.access(conn, project_id, actor_id)
        workspace_id = found.project.workspace_id if found else None
    await integration_events.security_event(
        conn,
        event_type,
        actor_id=actor_id,
        workspace_id=workspace_id,
        project_id=project_id,
        op_id=cmd.op_id,
        data=result,
    )
