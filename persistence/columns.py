"""Board columns."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pypika import functions as fn

from domain.models import Column
from persistence.db import Connection, returned
from persistence.sql import Query, archive_statements, columns, p

c = columns
_FIELDS = (c.id, c.project_id, c.name, c.position, c.version, c.archived_at)
_IN_PROJECT = (c.id == p(1)) & (c.project_id == p(2))

_INSERT = str(
    Query.into(c)
    .columns(c.id, c.project_id, c.name, c.position)
    .insert(p(1), p(2), p(3), p(4))
    .returning(*_FIELDS)
)
_GET = str(Query.from_(c).select(*_FIELDS).where(_IN_PROJECT))
_LIST = str(
    Query.from_(c)
    .select(*_FIELDS)
    .where((c.project_id == p(1)) & c.archived_at.isnull())
    .orderby(c.position)
)
_ARCHIVE, _RESTORE = archive_statements(c, _IN_PROJECT, _FIELDS)
_GET_VERSIONED = str(Query.from_(c).select(*_FIELDS, c.field_versions).where(_IN_PROJECT))
_RENAME = str(
    Query.update(c)
    .set(c.name, p(3))
    .set(c.field_versions, p(4))
    .set(c.version, c.version + 1)
    .set(c.updated_at, fn.Now())
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_MOVE = str(
    Query.update(c)
    .set(c.position, p(3))
    .set(c.version, c.version + 1)
    .set(c.updated_at, fn.Now())
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_DELETE = str(Query.from_(c).delete().where(_IN_PROJECT).returning(c.id))


def _column(row: asyncpg.Record | None) -> Column | None:
    return Column(**dict(row)) if row else None


async def insert(
    conn: Connection, column_id: UUID, project_id: UUID, name: str, position: str
) -> Column:
    return Column(
        **dict(returned(await conn.fetchrow(_INSERT, column_id, project_id, name, position)))
    )


async def get(conn: Connection, column_id: UUID, project_id: UUID) -> Column | None:
    return _column(await conn.fetchrow(_GET, column_id, project_id))


async def list_for_project(conn: Connection, project_id: UUID) -> list[Column]:
    return [Column(**dict(r)) for r in await conn.fetch(_LIST, project_id)]


async def get_versioned(
    conn: Connection, column_id: UUID, project_id: UUID
) -> tuple[Column, dict[str, int]] | None:
    """The column and, per field, the version that last changed it."""
    row = await conn.fetchrow(_GET_VERSIONED, column_id, project_id)
    if row is None:
        return None
    values = dict(row)
    versions = values.pop("field_versions")
    return Column(**values), versions


async def rename(
    conn: Connection, column_id: UUID, project_id: UUID, name: str, field_versions: dict[str, int]
) -> Column | None:
    return _column(await conn.fetchrow(_RENAME, column_id, project_id, name, field_versions))


async def move(conn: Connection, column_id: UUID, project_id: UUID, position: str) -> Column | None:
    return _column(await conn.fetchrow(_MOVE, column_id, project_id, position))


async def delete(conn: Connection, column_id: UUID, project_id: UUID) -> bool:
    """Delete a column and (by cascade) its tasks."""
    return await conn.fetchval(_DELETE, column_id, project_id) is not None


async def set_archived(
    conn: Connection, column_id: UUID, project_id: UUID, archived: bool
) -> Column | None:
    """Archive or restore; None when the column is missing or already in that state."""
    return _column(await conn.fetchrow(_ARCHIVE if archived else _RESTORE, column_id, project_id))
