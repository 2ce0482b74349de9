"""Comments on tasks."""

from __future__ import annotations

from uuid import UUID

from pypika import functions as fn

from domain.models import Comment
from persistence.db import Connection, returned
from persistence.sql import Query, comments, p

cm = comments
_FIELDS = (cm.id, cm.task_id, cm.project_id, cm.author_id, cm.body, cm.created_at, cm.edited_at)
_IN_PROJECT = (cm.id == p(1)) & (cm.project_id == p(2))

_INSERT = str(
    Query.into(cm)
    .columns(cm.id, cm.task_id, cm.project_id, cm.author_id, cm.body)
    .insert(p(1), p(2), p(3), p(4), p(5))
    .returning(*_FIELDS)
)
_GET = str(Query.from_(cm).select(*_FIELDS).where(_IN_PROJECT))
_EDIT = str(
    Query.update(cm)
    .set(cm.body, p(3))
    .set(cm.edited_at, fn.Now())
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_DELETE = str(Query.from_(cm).delete().where(_IN_PROJECT).returning(cm.id))
_FOR_TASK = str(
    Query.from_(cm).select(*_FIELDS).where(cm.task_id == p(1)).orderby(cm.created_at, cm.id)
)


async def insert(
    conn: Connection, comment_id: UUID, task_id: UUID, project_id: UUID, author: UUID, body: str
) -> Comment:
    row = returned(await conn.fetchrow(_INSERT, comment_id, task_id, project_id, author, body))
    return Comment(**dict(row))


async def get(conn: Connection, comment_id: UUID, project_id: UUID) -> Comment | None:
    row = await conn.fetchrow(_GET, comment_id, project_id)
    return Comment(**dict(row)) if row else None


async def edit(conn: Connection, comment_id: UUID, project_id: UUID, body: str) -> Comment:
    return Comment(**dict(returned(await conn.fetchrow(_EDIT, comment_id, project_id, body))))


async def delete(conn: Connection, comment_id: UUID, project_id: UUID) -> bool:
    return await conn.fetchval(_DELETE, comment_id, project_id) is not None


async def for_task(conn: Connection, task_id: UUID) -> list[Comment]:
    return [Comment(**dict(r)) for r in await conn.fetch(_FOR_TASK, task_id)]
