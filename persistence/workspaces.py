"""Workspaces (tenants) and their members."""

from __future__ import annotations

from uuid import UUID

from pypika import Order

from domain.models import Workspace
from domain.permissions import WorkspaceRole
from persistence.db import Connection, returned
from persistence.sql import Query, p, workspace_members, workspaces

w, m = workspaces, workspace_members

_INSERT = str(
    Query.into(w)
    .columns(w.id, w.name, w.created_by)
    .insert(p(1), p(2), p(3))
    .returning(w.id, w.name, w.created_by, w.created_at)
)
_ADD_MEMBER = str(Query.into(m).columns(m.workspace_id, m.user_id, m.role).insert(p(1), p(2), p(3)))
_FOR_USER = str(
    Query.from_(w)
    .join(m)
    .on(m.workspace_id == w.id)
    .select(w.id, w.name, w.created_by, w.created_at, m.role)
    .where(m.user_id == p(1))
    .orderby(w.created_at, order=Order.asc)
    .orderby(w.id)
)
_ROLE = str(Query.from_(m).select(m.role).where((m.workspace_id == p(1)) & (m.user_id == p(2))))


async def insert(conn: Connection, workspace_id: UUID, name: str, owner_id: UUID) -> Workspace:
    row = returned(await conn.fetchrow(_INSERT, workspace_id, name, owner_id))
    await conn.execute(_ADD_MEMBER, workspace_id, owner_id, WorkspaceRole.OWNER.value)
    return Workspace(**dict(row), role=WorkspaceRole.OWNER.value)


async def add_member(
    conn: Connection, workspace_id: UUID, user_id: UUID, role: WorkspaceRole
) -> None:
    await conn.execute(_ADD_MEMBER, workspace_id, user_id, role.value)


async def list_for_user(conn: Connection, user_id: UUID) -> list[Workspace]:
    return [Workspace(**dict(r)) for r in await conn.fetch(_FOR_USER, user_id)]


async def role_of(conn: Connection, workspace_id: UUID, user_id: UUID) -> WorkspaceRole | None:
    role = await conn.fetchval(_ROLE, workspace_id, user_id)
    return WorkspaceRole(role) if role else None


_LOCK = str(Query.from_(w).select(w.id).where(w.id == p(1)).for_update())


async def lock(conn: Connection, workspace_id: UUID) -> None:
    """Serialize membership changes of one workspace (e.g. two owners demoting each other)."""
    await conn.execute(_LOCK, workspace_id)
