"""Task <-> user and task <-> label links: assignees, watchers, labels on tasks.

Each link table has the same shape (task_id, other_id), so one small class serves all three.
"""

from __future__ import annotations

from uuid import UUID

from pypika import Table
from pypika import functions as fn

from persistence.db import Connection
from persistence.sql import Query, p, tasks


class LinkTable:
    def __init__(self, table: Table, other: str) -> None:
        t = table
        self.other = other
        self._add = str(
            Query.into(t)
            .columns(t.task_id, t.field(other))
            .insert(p(1), p(2))
            .on_conflict(t.task_id, t.field(other))
            .do_nothing()
            .returning(t.task_id)
        )
        self._remove = str(
            Query.from_(t)
            .delete()
            .where((t.task_id == p(1)) & (t.field(other) == p(2)))
            .returning(t.task_id)
        )
        self._count = str(Query.from_(t).select(fn.Count("*")).where(t.task_id == p(1)))
        self._for_task = str(
            Query.from_(t).select(t.field(other)).where(t.task_id == p(1)).orderby(t.field(other))
        )
        self._for_project = str(
            Query.from_(t)
            .join(tasks)
            .on(tasks.id == t.task_id)
            .select(t.task_id, t.field(other))
            .where((tasks.project_id == p(1)) & tasks.archived_at.isnull())
            .orderby(t.task_id, t.field(other))
        )

    async def add(self, conn: Connection, task_id: UUID, other_id: UUID) -> bool:
        """Link; False when the link already existed."""
        return await conn.fetchval(self._add, task_id, other_id) is not None

    async def remove(self, conn: Connection, task_id: UUID, other_id: UUID) -> bool:
        return await conn.fetchval(self._remove, task_id, other_id) is not None

    async def count(self, conn: Connection, task_id: UUID) -> int:
        n: int = await conn.fetchval(self._count, task_id)
        return n

    async def for_task(self, conn: Connection, task_id: UUID) -> list[UUID]:
        return [r[0] for r in await conn.fetch(self._for_task, task_id)]

    async def for_project(self, conn: Connection, project_id: UUID) -> list[dict[str, UUID]]:
        return [
            {"task_id": r[0], self.other: r[1]}
            for r in await conn.fetch(self._for_project, project_id)
        ]


assignees = LinkTable(Table("task_assignees"), "user_id")
watchers = LinkTable(Table("task_watchers"), "user_id")
task_labels = LinkTable(Table("task_labels"), "label_id")
