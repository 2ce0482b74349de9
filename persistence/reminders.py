"""Due-date reminders: claim each (task, kind, due date) once, whoever runs the claim."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from persistence.db import Connection

# Written as SQL: a data-modifying CTE (claim with ON CONFLICT DO NOTHING, then read what was
# claimed) is beyond pypika. The claim is the INSERT: two workers running this at once each
# get a disjoint set of rows, and a claim commits with the notifications it causes.
_CLAIM_DUE = """
WITH candidates AS (
    SELECT t.id AS task_id, t.due_at,
           CASE WHEN t.due_at <= $1 THEN 'overdue' ELSE 'due_soon' END AS kind
    FROM tasks t
    WHERE t.due_at IS NOT NULL AND t.archived_at IS NULL
      AND t.due_at <= $1 + $2::interval AND t.due_at > $1 - $3::interval
      AND NOT EXISTS (
          SELECT 1 FROM reminders_sent r
          WHERE r.task_id = t.id AND r.due_at = t.due_at
            AND r.kind = CASE WHEN t.due_at <= $1 THEN 'overdue' ELSE 'due_soon' END)
    ORDER BY t.due_at
    LIMIT $4
), claimed AS (
    INSERT INTO reminders_sent (task_id, kind, due_at)
    SELECT task_id, kind, due_at FROM candidates
    ON CONFLICT DO NOTHING
    RETURNING task_id, kind, due_at
)
SELECT c.task_id, c.kind, c.due_at, t.title, t.project_id, p.workspace_id,
       coalesce(array_agg(a.user_id) FILTER (WHERE a.user_id IS NOT NULL), '{}') AS assignees
FROM claimed c
JOIN tasks t ON t.id = c.task_id
JOIN projects p ON p.id = t.project_id
LEFT JOIN task_assignees a ON a.task_id = c.task_id
GROUP BY c.task_id, c.kind, c.due_at, t.title, t.project_id, p.workspace_id
"""


@dataclass(frozen=True, slots=True)
class DueReminder:
    task_id: UUID
    kind: str
    due_at: datetime
    title: str
    project_id: UUID
    workspace_id: UUID
    assignees: list[UUID]


async def claim_due(
    conn: Connection, now: datetime, due_soon: timedelta, oldest: timedelta, limit: int
) -> list[DueReminder]:
    """Claim the reminders due at ``now`` that nobody has sent (in the caller's transaction)."""
    rows = await conn.fetch(_CLAIM_DUE, now, due_soon, oldest, limit)
    return [DueReminder(**{**dict(r), "assignees": list(r["assignees"])}) for r in rows]
