"""Full-text search (PostgreSQL ``simple`` configuration) over task titles and descriptions, and
comments, within the projects the caller may read."""

from __future__ import annotations

from enum import Enum
from typing import Any
from uuid import UUID

from pypika import Field, Order
from pypika.terms import BasicCriterion, Function, LiteralValue

from persistence.db import Connection
from persistence.sql import Query, columns, comments, p, tasks


class _Match(Enum):
    matches = "@@"


def _query() -> str:
    t, cm = tasks, comments
    tsquery = Function("plainto_tsquery", LiteralValue("'simple'"), p(2))
    archived_columns = (
        Query.from_(columns)
        .select(columns.id)
        .where((columns.project_id == Function("ANY", p(1))) & columns.archived_at.notnull())
    )
    task_hits = (
        Query.from_(t)
        .select(
            LiteralValue("'task'").as_("kind"),
            t.id.as_("task_id"),
            t.project_id,
            t.title,
            t.description.as_("text"),
            Function("ts_rank", t.search, tsquery).as_("rank"),
        )
        .where(
            (t.project_id == Function("ANY", p(1)))
            & t.archived_at.isnull()
            & t.column_id.notin(archived_columns)
            & BasicCriterion(_Match.matches, t.search, tsquery)
        )
    )
    comment_hits = (
        Query.from_(cm)
        .join(t)
        .on(t.id == cm.task_id)
        .select(
            LiteralValue("'comment'"),
            cm.task_id,
            cm.project_id,
            t.title,
            cm.body,
            Function("ts_rank", cm.search, tsquery),
        )
        .where(
            (cm.project_id == Function("ANY", p(1)))
            & t.archived_at.isnull()
            & t.column_id.notin(archived_columns)
            & BasicCriterion(_Match.matches, cm.search, tsquery)
        )
    )
    union = (
        task_hits.union_all(comment_hits)
        .orderby(Field("rank"), order=Order.desc)
        .orderby(Field("task_id"))
        .limit(p(3))
    )
    return str(union)


_SEARCH = _query()


async def search(
    conn: Connection, project_ids: list[UUID], text: str, limit: int
) -> list[dict[str, Any]]:
    if not project_ids:
        return []
    return [dict(r) for r in await conn.fetch(_SEARCH, project_ids, text, limit)]
