"""Computing a fractional position among siblings (columns of a project, tasks of a column).

Callers hold the project's row lock (``projects.next_seq``), so no two writers of one project
place items at the same time and keys stay unique.
"""

from __future__ import annotations

from enum import Enum
from functools import cache
from uuid import UUID

from pypika import Table
from pypika import functions as fn

from domain.ordering import key_between
from persistence.db import Connection
from persistence.sql import Query, p


class Anchor(Enum):
    """Where an item goes when no sibling is named: first (moves) or last (creations)."""

    START = "start"
    END = "end"


class UnknownSibling(LookupError):
    """``after_id`` names no item of this scope."""


@cache
def _queries(table_name: str, scope: str) -> tuple[str, str, str, str]:
    t = Table(table_name)
    same_scope = (t.field(scope) == p(1)) & (t.id != p(2))
    position_of = str(
        Query.from_(t).select(t.position).where((t.field(scope) == p(1)) & (t.id == p(2)))
    )
    first_after = str(
        Query.from_(t)
        .select(t.position)
        .where(same_scope & (t.position > p(3)))
        .orderby(t.position)
        .limit(1)
    )
    first = str(Query.from_(t).select(fn.Min(t.position)).where(same_scope))
    last = str(Query.from_(t).select(fn.Max(t.position)).where(same_scope))
    return position_of, first_after, first, last


async def place(
    conn: Connection,
    table: str,
    scope: str,
    scope_id: UUID,
    after_id: UUID | None,
    anchor: Anchor,
    moving_id: UUID,
) -> str:
    """The key for ``moving_id`` right after ``after_id`` (or at ``anchor`` when None)."""
    position_of, first_after, first, last = _queries(table, scope)
    if after_id is None:
        if anchor is Anchor.START:
            return key_between(None, await conn.fetchval(first, scope_id, moving_id))
        return key_between(await conn.fetchval(last, scope_id, moving_id), None)
    before = await conn.fetchval(position_of, scope_id, after_id)
    if before is None or after_id == moving_id:
        raise UnknownSibling(str(after_id))
    following = await conn.fetchval(first_after, scope_id, moving_id, before)
    return key_between(before, following)
