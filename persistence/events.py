"""The per-project event log (ADR 0005)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pypika import Order
from pypika import functions as fn

from domain.models import ProjectEvent
from persistence.db import Connection
from persistence.sql import Query, p, project_events

e = project_events

_APPEND = str(
    Query.into(e)
    .columns(e.project_id, e.seq, e.type, e.actor_id, e.op_id, e.data)
    .insert(p(1), p(2), p(3), p(4), p(5), p(6))
    .returning(e.at)
)
_SINCE = str(
    Query.from_(e)
    .select(e.project_id, e.seq, e.type, e.actor_id, e.op_id, e.at, e.data)
    .where((e.project_id == p(1)) & (e.seq > p(2)))
    .orderby(e.seq)
    .limit(p(3))
)


async def append(
    conn: Connection,
    project_id: UUID,
    seq: int,
    event_type: str,
    actor_id: UUID,
    op_id: str,
    data: dict[str, Any],
) -> ProjectEvent:
    at = await conn.fetchval(_APPEND, project_id, seq, event_type, actor_id, op_id, data)
    return ProjectEvent(project_id, seq, event_type, actor_id, op_id, at, data)


async def since(
    conn: Connection, project_id: UUID, after_seq: int, limit: int
) -> list[ProjectEvent]:
    return [ProjectEvent(**dict(r)) for r in await conn.fetch(_SINCE, project_id, after_seq, limit)]


_NO_SEQ_LIMIT = 2**63 - 1  # bigint max: "before no seq" means from the newest


def _history_query(by_task: bool) -> str:
    where = e.project_id == p(1)
    if by_task:
        where &= e.data.get_text_value("task_id") == p(4)
    query = (
        Query.from_(e)
        .select(e.project_id, e.seq, e.type, e.actor_id, e.op_id, e.at, e.data)
        .where(where & (e.seq < fn.Coalesce(p(2), _NO_SEQ_LIMIT)))
        .orderby(e.seq, order=Order.desc)
        .limit(p(3))
    )
    return str(query)


_PROJECT_HISTORY = _history_query(by_task=False)
_TASK_HISTORY = _history_query(by_task=True)


async def history(
    conn: Connection,
    project_id: UUID,
    before_seq: int | None,
    limit: int,
    task_id: UUID | None = None,
) -> list[ProjectEvent]:
    """Newest first: the events of a project (or of one task) before ``before_seq``."""
    if task_id is None:
        rows = await conn.fetch(_PROJECT_HISTORY, project_id, before_seq, limit)
    else:
        rows = await conn.fetch(_TASK_HISTORY, project_id, before_seq, limit, str(task_id))
    return [ProjectEvent(**dict(r)) for r in rows]
