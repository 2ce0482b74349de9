"""Workspace membership: who belongs to a workspace, with which role."""

from __future__ import annotations

from uuid import UUID

from pypika import functions as fn

from domain.models import Member
from domain.permissions import WorkspaceRole
from persistence.db import Connection
from persistence.sql import Query, p, project_members, projects, users, workspace_members

m, u, pm, pr = workspace_members, users, project_members, projects

_LIST = str(
    Query.from_(m)
    .join(u)
    .on(u.id == m.user_id)
    .select(m.user_id, u.email, u.display_name, m.role, m.joined_at)
    .where(m.workspace_id == p(1))
    .orderby(m.joined_at)
)
_ADD = str(
    Query.into(m)
    .columns(m.workspace_id, m.user_id, m.role)
    .insert(p(1), p(2), p(3))
    .on_conflict(m.workspace_id, m.user_id)
    .do_nothing()
    .returning(m.user_id)
)
_SET_ROLE = str(
    Query.update(m)
    .set(m.role, p(3))
    .where((m.workspace_id == p(1)) & (m.user_id == p(2)))
    .returning(m.user_id)
)
_REMOVE = str(
    Query.from_(m)
    .delete()
    .where((m.workspace_id == p(1)) & (m.user_id == p(2)))
    .returning(m.user_id)
)
# Project roles of a removed member go with the membership.
_REMOVE_PROJECT_ROLES = str(
    Query.from_(pm)
    .delete()
    .where(
        (pm.user_id == p(2))
        & pm.project_id.isin(Query.from_(pr).select(pr.id).where(pr.workspace_id == p(1)))
    )
)
_OWNERS = str(
    Query.from_(m)
    .select(fn.Count("*"))
    .where((m.workspace_id == p(1)) & (m.role == WorkspaceRole.OWNER.value))
)


async def list_members(conn: Connection, workspace_id: UUID) -> list[Member]:
    return [Member(**dict(r)) for r in await conn.fetch(_LIST, workspace_id)]


async def add(conn: Connection, workspace_id: UUID, user_id: UUID, role: WorkspaceRole) -> bool:
    """Add a member; False when they already belong to the workspace."""
    return await conn.fetchval(_ADD, workspace_id, user_id, role.value) is not None


async def set_role(
    conn: Connection, workspace_id: UUID, user_id: UUID, role: WorkspaceRole
) -> bool:
    return await conn.fetchval(_SET_ROLE, workspace_id, user_id, role.value) is not None


async def remove(conn: Connection, workspace_id: UUID, user_id: UUID) -> bool:
    await conn.execute(_REMOVE_PROJECT_ROLES, workspace_id, user_id)
    return await conn.fetchval(_REMOVE, workspace_id, user_id) is not None


async def owner_count(conn: Connection, workspace_id: UUID) -> int:
    count: int = await conn.fetchval(_OWNERS, workspace_id)
    return count
