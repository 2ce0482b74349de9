"""Projects, the caller's access to them, and the per-project event counter."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import asyncpg
from pypika.terms import Function

from domain.models import Project
from domain.permissions import ProjectRole, WorkspaceRole
from persistence.db import Connection, returned
from persistence.sql import Query, p, project_members, projects, workspace_members

pr, wm, pm = projects, workspace_members, project_members

_FIELDS = (pr.id, pr.workspace_id, pr.name, pr.created_by, pr.created_at, pr.last_seq)

_INSERT = str(
    Query.into(pr)
    .columns(pr.id, pr.workspace_id, pr.name, pr.created_by)
    .insert(p(1), p(2), p(3), p(4))
    .returning(*_FIELDS)
)
_ADD_MEMBER = str(
    Query.into(pm).columns(pm.project_id, pm.user_id, pm.role).insert(p(1), p(2), p(3))
)
_IN_WORKSPACE = str(
    Query.from_(pr).select(*_FIELDS).where(pr.workspace_id == p(1)).orderby(pr.created_at)
)
_VISIBLE_TO_GUEST = str(
    Query.from_(pr)
    .join(pm)
    .on((pm.project_id == pr.id) & (pm.user_id == p(2)))
    .select(*_FIELDS)
    .where(pr.workspace_id == p(1))
    .orderby(pr.created_at)
)
# The project with the caller's workspace role and explicit project role: one query answers both
# "does it exist for this caller" and "what may they do". No row: not a member of its workspace.
_ACCESS = str(
    Query.from_(pr)
    .join(wm)
    .on((wm.workspace_id == pr.workspace_id) & (wm.user_id == p(2)))
    .left_join(pm)
    .on((pm.project_id == pr.id) & (pm.user_id == p(2)))
    .select(*_FIELDS, wm.role.as_("workspace_role"), pm.role.as_("project_role"))
    .where(pr.id == p(1))
)
_SET_ROLE = str(
    Query.into(pm)
    .columns(pm.project_id, pm.user_id, pm.role)
    .insert(p(1), p(2), p(3))
    .on_conflict(pm.project_id, pm.user_id)
    .do_update(pm.role)
)
_REMOVE_ROLE = str(
    Query.from_(pm)
    .delete()
    .where((pm.project_id == p(1)) & (pm.user_id == p(2)))
    .returning(pm.role)
)
_ROLES_IN = str(
    Query.from_(pr)
    .join(wm)
    .on(wm.workspace_id == pr.workspace_id)
    .left_join(pm)
    .on((pm.project_id == pr.id) & (pm.user_id == wm.user_id))
    .select(wm.user_id, wm.role.as_("workspace_role"), pm.role.as_("project_role"))
    .where((pr.id == p(1)) & (wm.user_id == Function("ANY", p(2))))
)
_BY_ID = str(Query.from_(pr).select(*_FIELDS).where(pr.id == p(1)))
_IDS_IN_WORKSPACE = str(Query.from_(pr).select(pr.id).where(pr.workspace_id == p(1)))
_NEXT_SEQ = str(
    Query.update(pr).set(pr.last_seq, pr.last_seq + 1).where(pr.id == p(1)).returning(pr.last_seq)
)


def _project(row: asyncpg.Record) -> Project:
    return Project(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
    )


async def insert(
    conn: Connection, project_id: UUID, workspace_id: UUID, name: str, creator: UUID
) -> Project:
    row = returned(await conn.fetchrow(_INSERT, project_id, workspace_id, name, creator))
    await conn.execute(_ADD_MEMBER, project_id, creator, "manager")
    return _project(row)


async def by_id(conn: Connection, project_id: UUID) -> Project | None:
    """The project, with no access check: for the worker, which acts on no one's behalf."""
    row = await conn.fetchrow(_BY_ID, project_id)
    return _project(row) if row else None


async def list_in_workspace(conn: Connection, workspace_id: UUID) -> list[Project]:
    return [_project(r) for r in await conn.fetch(_IN_WORKSPACE, workspace_id)]


async def list_with_explicit_role(
    conn: Connection, workspace_id: UUID, user_id: UUID
) -> list[Project]:
    """The projects of a workspace in which ``user_id`` has a project role (what guests see)."""
    return [_project(r) for r in await conn.fetch(_VISIBLE_TO_GUEST, workspace_id, user_id)]


async def ids_in_workspace(conn: Connection, workspace_id: UUID) -> list[UUID]:
    return [r["id"] for r in await conn.fetch(_IDS_IN_WORKSPACE, workspace_id)]


@dataclass(frozen=True, slots=True)
class Access:
    project: Project
    workspace_role: WorkspaceRole
    project_role: ProjectRole | None


async def access(conn: Connection, project_id: UUID, user_id: UUID) -> Access | None:
    row = await conn.fetchrow(_ACCESS, project_id, user_id)
    if row is None:
        return None
    explicit = row["project_role"]
    return Access(
        _project(row),
        WorkspaceRole(row["workspace_role"]),
        ProjectRole(explicit) if explicit else None,
    )


async def roles_in(
    conn: Connection, project_id: UUID, user_ids: list[UUID]
) -> dict[UUID, tuple[WorkspaceRole, ProjectRole | None]]:
    """Workspace and explicit project roles of these users for one project (members only)."""
    rows = await conn.fetch(_ROLES_IN, project_id, user_ids)
    return {
        r["user_id"]: (
            WorkspaceRole(r["workspace_role"]),
            ProjectRole(r["project_role"]) if r["project_role"] else None,
        )
        for r in rows
    }


async def set_member_role(
    conn: Connection, project_id: UUID, user_id: UUID, role: ProjectRole
) -> None:
    await conn.execute(_SET_ROLE, project_id, user_id, role.value)


async def remove_member_role(conn: Connection, project_id: UUID, user_id: UUID) -> bool:
    return await conn.fetchval(_REMOVE_ROLE, project_id, user_id) is not None


async def next_seq(conn: Connection, project_id: UUID) -> int:
    """Take the project's next ``seq``; holds the project's row lock until the transaction ends."""
    seq: int = await conn.fetchval(_NEXT_SEQ, project_id)
    return seq
