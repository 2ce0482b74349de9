"""Projects, the caller's access to them, and the per-project event counter."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from domain.models import Project
from domain.permissions import WorkspaceRole
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
# The project together with the caller's role in its workspace: one query answers both "does it
# exist for this caller" and "what may they do". No row means not found, whatever the reason.
_ACCESS = str(
    Query.from_(pr)
    .join(wm)
    .on((wm.workspace_id == pr.workspace_id) & (wm.user_id == p(2)))
    .select(*_FIELDS, wm.role)
    .where(pr.id == p(1))
)
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


async def list_in_workspace(conn: Connection, workspace_id: UUID) -> list[Project]:
    return [_project(r) for r in await conn.fetch(_IN_WORKSPACE, workspace_id)]


async def access(
    conn: Connection, project_id: UUID, user_id: UUID
) -> tuple[Project, WorkspaceRole] | None:
    row = await conn.fetchrow(_ACCESS, project_id, user_id)
    return (_project(row), WorkspaceRole(row["role"])) if row else None


async def next_seq(conn: Connection, project_id: UUID) -> int:
    """Take the project's next ``seq``; holds the project's row lock until the transaction ends."""
    seq: int = await conn.fetchval(_NEXT_SEQ, project_id)
    return seq
