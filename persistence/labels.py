"""A project's labels (name and colour)."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pypika import functions as fn

from domain.models import Label
from persistence.db import Connection, returned
from persistence.errors import DuplicateKey
from persistence.sql import Query, labels, p

lb = labels
_FIELDS = (lb.id, lb.project_id, lb.name, lb.color)
_IN_PROJECT = (lb.id == p(1)) & (lb.project_id == p(2))

_INSERT = str(
    Query.into(lb)
    .columns(lb.id, lb.project_id, lb.name, lb.color)
    .insert(p(1), p(2), p(3), p(4))
    .returning(*_FIELDS)
)
_GET = str(Query.from_(lb).select(*_FIELDS).where(_IN_PROJECT))
_UPDATE = str(
    Query.update(lb)
    .set(lb.name, fn.Coalesce(p(3), lb.name))
    .set(lb.color, fn.Coalesce(p(4), lb.color))
    .where(_IN_PROJECT)
    .returning(*_FIELDS)
)
_DELETE = str(Query.from_(lb).delete().where(_IN_PROJECT).returning(lb.id))
_LIST = str(Query.from_(lb).select(*_FIELDS).where(lb.project_id == p(1)).orderby(lb.name))
_COUNT = str(Query.from_(lb).select(fn.Count("*")).where(lb.project_id == p(1)))


async def insert(
    conn: Connection, label_id: UUID, project_id: UUID, name: str, color: str
) -> Label:
    try:
        row = await conn.fetchrow(_INSERT, label_id, project_id, name, color)
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKey("name") from exc
    return Label(**dict(returned(row)))


async def get(conn: Connection, label_id: UUID, project_id: UUID) -> Label | None:
    row = await conn.fetchrow(_GET, label_id, project_id)
    return Label(**dict(row)) if row else None


async def update(
    conn: Connection, label_id: UUID, project_id: UUID, name: str | None, color: str | None
) -> Label | None:
    try:
        row = await conn.fetchrow(_UPDATE, label_id, project_id, name, color)
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKey("name") from exc
    return Label(**dict(row)) if row else None


async def delete(conn: Connection, label_id: UUID, project_id: UUID) -> bool:
    return await conn.fetchval(_DELETE, label_id, project_id) is not None


async def list_for_project(conn: Connection, project_id: UUID) -> list[Label]:
    return [Label(**dict(r)) for r in await conn.fetch(_LIST, project_id)]


async def count(conn: Connection, project_id: UUID) -> int:
    n: int = await conn.fetchval(_COUNT, project_id)
    return n
