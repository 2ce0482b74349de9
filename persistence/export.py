"""Bulk export reads: every task of a project with its column, assignees and labels, streamed
through a server-side cursor so memory stays flat however large the project."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from persistence.db import Connection, stream_rows

# SQL text: correlated array aggregates per task read more plainly than in pypika.
_TASKS = """
SELECT t.id, t.column_id, c.name AS column_name, t.title, t.description, t.position,
       t.version, t.due_at, t.archived_at, t.created_by, t.created_at, t.updated_at,
       coalesce((SELECT array_agg(a.user_id ORDER BY a.user_id)
                 FROM task_assignees a WHERE a.task_id = t.id), '{}') AS assignees,
       coalesce((SELECT array_agg(l.label_id ORDER BY l.label_id)
                 FROM task_labels l WHERE l.task_id = t.id), '{}') AS labels
FROM tasks t JOIN columns c ON c.id = t.column_id
WHERE t.project_id = $1
ORDER BY c.position, t.position, t.id
"""

TASK_FIELDS = (
    "id",
    "column_id",
    "column_name",
    "title",
    "description",
    "position",
    "version",
    "due_at",
    "archived_at",
    "created_by",
    "created_at",
    "updated_at",
    "assignees",
    "labels",
)


async def tasks(conn: Connection, project_id: UUID) -> AsyncIterator[dict[str, Any]]:
    """The project's tasks in board order (inside a transaction: cursors need one)."""
    async for record in stream_rows(conn, _TASKS, project_id, batch=1000):
        row = dict(record)
        row["assignees"] = list(row["assignees"])
        row["labels"] = list(row["labels"])
        yield row
