"""Tasks (cards)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from pypika import Case
from pypika import functions as fn

from domain.models import Task
from persistence.db import Connection, returned
from persistence.sql import Query, archive_statements, columns, p, tasks

t = tasks
_FIELDS = (
    t.id,
    t.project_id,
    t.column_id,
    t.title,
    t.description,
    t.position,
    t.version,
    t.created_by,
    t.created_at,
    t.updated_at,
    t.due_at,
    t.archived_at,
)
_IN_PROJECT = (t.id == p(1)) & (t.project_id == p(2))

_INSERT = str(
    Query.into(t)
    .columns(t.id, t.project_id, t.column_id, t.title, t.description, t.position, t.created_by)
    .insert(p(1), p(2), p(3), p(4), p(5), p(6), p(7))
    .returning(*_FIELDS)
)
_GET = str(Query.from_(t).select(*_FIELDS).where(_IN_PROJECT))
# The board: tasks neither archived themselves nor in an archived column.
_LIST = str(
    Query.from_(t)
    .select(*_FIELDS)
    .where(
        (t.project_id == p(1))
        & t.archived_at.isnull()
        & t.column_id.notin(
            Query.from_(columns)
            .select(columns.id)
            .where((columns.project_id == p(1)) & columns.archived_at.notnull())
        )
    )
    .orderby(t.column_id, t.position)
)
_GET_VERSIONED = str(Query.from_(t).select(*_FIELDS, t.field_versions).where(_IN_PROJECT))
# COALESCE keeps a field that the update does not name.
_UPDATE = str(
    Query.update(t)
    .set(t.title, fn.Coalesce(p(3), t.title))
    .set(t.description, fn.Coalesce(p(4), t.description))
    .set(t.due_at, Case().when(p(7), p(6)).else_(t.due_at))
    .set(t.field_versions, p(5))
    .set(t.version, t.version + 1)
    .set(t.updated_at, fn.Now())
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_MOVE = str(
    Query.update(t)
    .set(t.column_id, p(3))
    .set(t.position, p(4))
    .set(t.version, t.version + 1)
    .set(t.updated_at, fn.Now())
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_ARCHIVE, _RESTORE = archive_statements(t, _IN_PROJECT, _FIELDS)
_DELETE = str(Query.from_(t).delete().where(_IN_PROJECT).returning(t.id))


def _task(row: asyncpg.Record | None) -> Task | None:
    return Task(**dict(row)) if row else None


async def insert(
    conn: Connection,
    task_id: UUID,
    project_id: UUID,
    column_id: UUID,
    title: str,
    description: str,
    position: str,
    created_by: UUID,
) -> Task:
    row = returned(
        await conn.fetchrow(
            _INSERT, task_id, project_id, column_id, title, description, position, created_by
        )
    )
    return Task(**dict(row))


async def get(conn: Connection, task_id: UUID, project_id: UUID) -> Task | None:
    return _task(await conn.fetchrow(_GET, task_id, project_id))


async def list_for_project(conn: Connection, project_id: UUID) -> list[Task]:
    return [Task(**dict(r)) for r in await conn.fetch(_LIST, project_id)]


async def get_versioned(
    conn: Connection, task_id: UUID, project_id: UUID
) -> tuple[Task, dict[str, int]] | None:
    """The task and, per field, the version that last changed it."""
    row = await conn.fetchrow(_GET_VERSIONED, task_id, project_id)
    if row is None:
        return None
    values = dict(row)
    versions = values.pop("field_versions")
    return Task(**values), versions


async def update(
    conn: Connection,
    task_id: UUID,
    project_id: UUID,
    changes: dict[str, Any],
    field_versions: dict[str, int],
) -> Task | None:
    """Apply ``changes`` (title, description, due_at); fields not named stay as they are."""
    row = await conn.fetchrow(
        _UPDATE,
        task_id,
        project_id,
        changes.get("title"),
        changes.get("description"),
        field_versions,
        changes.get("due_at"),
        "due_at" in changes,
    )
    return _task(row)


async def set_archived(
    conn: Connection, task_id: UUID, project_id: UUID, archived: bool
) -> Task | None:
    """Archive or restore; None when the task is missing or already in that state."""
    return _task(await conn.fetchrow(_ARCHIVE if archived else _RESTORE, task_id, project_id))


async def move(
    conn: Connection, task_id: UUID, project_id: UUID, column_id: UUID, position: str
) -> Task | None:
    return _task(await conn.fetchrow(_MOVE, task_id, project_id, column_id, position))


async def delete(conn: Connection, task_id: UUID, project_id: UUID) -> bool:
    return await conn.fetchval(_DELETE, task_id, project_id) is not None
