"""The transactional outbox (ADR 0017): integration events waiting for the relay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from pypika import Order, Parameter
from pypika import functions as fn

from persistence.db import Connection
from persistence.sql import Query, outbox, p

o = outbox

NOTIFY_CHANNEL = "boardroom_outbox"
"""Signalled by a trigger when outbox rows commit (migration 0005)."""

RELAY_LOCK_KEY = 0x6F7574626F78  # "outbox": one relay publishes at a time, keeping key order


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    event_id: UUID
    topic: str
    key: str
    payload: dict[str, Any]
    trace_context: dict[str, str] | None = None


_ADD = str(
    Query.into(o)
    .columns(o.event_id, o.topic, o.key, o.payload, o.trace_context)
    .insert(p(1), p(2), p(3), p(4), p(5))
)
_PENDING = str(
    Query.from_(o)
    .select(o.id, o.event_id, o.topic, o.key, o.payload, o.trace_context)
    .where(o.published_at.isnull())
    .orderby(o.id, order=Order.asc)
    .limit(p(1))
)
# Only a placeholder is formatted in: no value reaches the SQL text.
_MARK = f"UPDATE outbox SET published_at = now() WHERE id = ANY({p(1)}::bigint[])"  # noqa: S608  # nosec B608
_BACKLOG = (
    "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
    "FROM outbox WHERE published_at IS NULL"
)
_REPUBLISH = str(
    Query.update(o)
    .set(o.published_at, None)
    .where(o.id.between(p(1), p(2)) & o.published_at.notnull())
)
_PRUNE = str(Query.from_(o).delete().where(o.published_at < fn.Now() - Parameter("$1::interval")))


async def add(
    conn: Connection,
    event_id: UUID,
    topic: str,
    key: str,
    payload: dict[str, Any],
    trace_context: dict[str, str] | None = None,
) -> None:
    """Queue an event; ``trace_context`` (W3C headers) continues the writer's trace."""
    await conn.execute(_ADD, event_id, topic, key, payload, trace_context)


async def pending(conn: Connection, limit: int) -> list[OutboxRow]:
    """The oldest unpublished rows, in commit-id order."""
    return [OutboxRow(**dict(r)) for r in await conn.fetch(_PENDING, limit)]


async def mark_published(conn: Connection, ids: list[int]) -> None:
    await conn.execute(_MARK, ids)


@dataclass(frozen=True, slots=True)
class Backlog:
    count: int
    oldest_age_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "oldest_age_seconds": round(self.oldest_age_seconds, 3)}


async def backlog(conn: Connection) -> Backlog:
    row = await conn.fetchrow(_BACKLOG)
    assert row is not None
    return Backlog(int(row["n"]), float(row["age"] or 0.0))


async def republish(conn: Connection, first_id: int, last_id: int) -> int:
    """Mark the published rows with ids ``first_id`` to ``last_id`` (inclusive) unpublished,
    so that the relay publishes them again; the count marked. Consumers dedupe by event id,
    so a row that did arrive is not applied twice."""
    status = await conn.execute(_REPUBLISH, first_id, last_id)
    return int(status.split()[-1])


async def prune(conn: Connection, keep: timedelta) -> int:
    """Delete rows published longer ago than ``keep``; the count deleted."""
    status = await conn.execute(_PRUNE, keep)
    return int(status.split()[-1])
