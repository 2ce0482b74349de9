"""Checklist items of tasks, ordered by fractional position."""

from __future__ import annotations

from uuid import UUID

from pypika import functions as fn

from domain.models import ChecklistItem
from persistence.db import Connection, returned
from persistence.sql import Query, checklist_items, p, tasks

ci = checklist_items
_FIELDS = (ci.id, ci.task_id, ci.text, ci.done, ci.position)
# An item belongs to the project through its task.
_IN_PROJECT = (ci.id == p(1)) & ci.task_id.isin(
    Query.from_(tasks).select(tasks.id).where(tasks.project_id == p(2))
)

_INSERT = str(
    Query.into(ci)
    .columns(ci.id, ci.task_id, ci.text, ci.position)
    .insert(p(1), p(2), p(3), p(4))
    .returning(*_FIELDS)
)
_GET = str(Query.from_(ci).select(*_FIELDS).where(_IN_PROJECT))
_TOGGLE = str(Query.update(ci).set(ci.done, p(3)).where(_IN_PROJECT).returning(*_FIELDS))
_MOVE = str(Query.update(ci).set(ci.position, p(3)).where(_IN_PROJECT).returning(*_FIELDS))
_DELETE = str(Query.from_(ci).delete().where(_IN_PROJECT).returning(ci.task_id))
_FOR_TASK = str(Query.from_(ci).select(*_FIELDS).where(ci.task_id == p(1)).orderby(ci.position))
_COUNT = str(Query.from_(ci).select(fn.Count("*")).where(ci.task_id == p(1)))


def _item(row: object) -> ChecklistItem | None:
    return ChecklistItem(**dict(row)) if row else None  # type: ignore[call-overload]


async def insert(
    conn: Connection, item_id: UUID, task_id: UUID, text: str, position: str
) -> ChecklistItem:
    row = returned(await conn.fetchrow(_INSERT, item_id, task_id, text, position))
    return ChecklistItem(**dict(row))


async def get(conn: Connection, item_id: UUID, project_id: UUID) -> ChecklistItem | None:
    return _item(await conn.fetchrow(_GET, item_id, project_id))


async def toggle(
    conn: Connection, item_id: UUID, project_id: UUID, done: bool
) -> ChecklistItem | None:
    return _item(await conn.fetchrow(_TOGGLE, item_id, project_id, done))


async def move(
    conn: Connection, item_id: UUID, project_id: UUID, position: str
) -> ChecklistItem | None:
    return _item(await conn.fetchrow(_MOVE, item_id, project_id, position))


async def delete(conn: Connection, item_id: UUID, project_id: UUID) -> UUID | None:
    """Delete; the item's task id, or None when there was no such item."""
    task_id: UUID | None = await conn.fetchval(_DELETE, item_id, project_id)
    return task_id


async def for_task(conn: Connection, task_id: UUID) -> list[ChecklistItem]:
    return [ChecklistItem(**dict(r)) for r in await conn.fetch(_FOR_TASK, task_id)]


async def count(conn: Connection, task_id: UUID) -> int:
    n: int = await conn.fetchval(_COUNT, task_id)
    return n
