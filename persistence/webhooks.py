"""Webhooks of a project and the log of their deliveries (ADR 0021)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pypika import Order
from pypika import functions as fn

from domain.models import Webhook, WebhookDelivery
from persistence.db import Connection
from persistence.sql import Query, p, webhook_deliveries, webhooks

w = webhooks
d = webhook_deliveries

_WEBHOOK = (w.id, w.project_id, w.url, w.event_types, w.created_by, w.created_at)
_DELIVERY = (
    d.id,
    d.webhook_id,
    d.event_id,
    d.event_type,
    d.status,
    d.attempts,
    d.next_attempt_at,
    d.last_status,
    d.last_error,
    d.created_at,
    d.delivered_at,
)

_INSERT = str(
    Query.into(w)
    .columns(w.id, w.project_id, w.url, w.secret, w.event_types, w.created_by)
    .insert(p(1), p(2), p(3), p(4), p(5), p(6))
    .returning(*_WEBHOOK)
)
_COUNT = str(
    Query.from_(w).select(fn.Count("*")).where((w.project_id == p(1)) & (w.active == True))  # noqa: E712
)
_LIST = str(
    Query.from_(w)
    .select(*_WEBHOOK)
    .where((w.project_id == p(1)) & (w.active == True))  # noqa: E712
    .orderby(w.created_at)
)
_DEACTIVATE = str(
    Query.update(w)
    .set(w.active, False)
    .where((w.id == p(1)) & (w.project_id == p(2)) & (w.active == True))  # noqa: E712
    .returning(w.id)
)
_EXISTS = str(Query.from_(w).select(w.id).where((w.id == p(1)) & (w.project_id == p(2))))
_ENQUEUE = """
INSERT INTO webhook_deliveries (id, webhook_id, event_id, event_type, payload)
SELECT gen_random_uuid(), w.id, $2, $3, $4
FROM webhooks w
WHERE w.project_id = $1 AND w.active AND w.created_at <= $5
  AND (cardinality(w.event_types) = 0 OR $3 = ANY(w.event_types))
ON CONFLICT (webhook_id, event_id) DO NOTHING
"""
# Lease due deliveries: pushing next_attempt_at ahead claims them (SKIP LOCKED keeps two
# workers apart), and a worker that dies mid-send leaves them to be retried after the lease.
# At most $3 per webhook in one lease: the backlog of one failing endpoint cannot fill the
# batch and hold back every other project's deliveries.
_LEASE_DUE = """
UPDATE webhook_deliveries SET next_attempt_at = now() + $2::interval
WHERE id IN (
    SELECT d.id FROM webhook_deliveries d
    WHERE d.id IN (
        SELECT id FROM (
            SELECT id, row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at) AS n
            FROM webhook_deliveries
            WHERE status = 'pending' AND next_attempt_at <= now()
        ) ranked
        WHERE n <= $3
    )
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
RETURNING id, webhook_id, event_id, event_type, payload, attempts,
    (SELECT url FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id) AS url,
    (SELECT secret FROM webhooks WHERE webhooks.id = webhook_deliveries.webhook_id) AS secret
"""
_DELIVERED = """
UPDATE webhook_deliveries
SET status = 'delivered', attempts = attempts + 1, last_status = $2, last_error = NULL,
    delivered_at = now()
WHERE id = $1
"""
_FAILED = """
UPDATE webhook_deliveries
SET attempts = attempts + 1, last_status = $2, last_error = $3,
    status = CASE WHEN attempts + 1 >= $4 THEN 'dead_lettered' ELSE 'pending' END,
    next_attempt_at = now() + $5::interval
WHERE id = $1
RETURNING status
"""
_LOG = str(
    Query.from_(d)
    .select(*_DELIVERY)
    .where((d.webhook_id == p(1)) & (d.created_at < p(2)))
    .orderby(d.created_at, order=Order.desc)
    .limit(p(3))
)


@dataclass(frozen=True, slots=True)
class LeasedDelivery:
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret: str


async def insert(
    conn: Connection,
    webhook_id: UUID,
    project_id: UUID,
    url: str,
    secret: str,
    event_types: list[str],
    created_by: UUID,
) -> Webhook:
    row = await conn.fetchrow(_INSERT, webhook_id, project_id, url, secret, event_types, created_by)
    assert row is not None
    return Webhook(**dict(row))


async def count_active(conn: Connection, project_id: UUID) -> int:
    return int(await conn.fetchval(_COUNT, project_id))


async def list_active(conn: Connection, project_id: UUID) -> list[Webhook]:
    return [Webhook(**dict(r)) for r in await conn.fetch(_LIST, project_id)]


async def deactivate(conn: Connection, webhook_id: UUID, project_id: UUID) -> bool:
    return await conn.fetchval(_DEACTIVATE, webhook_id, project_id) is not None


async def exists(conn: Connection, webhook_id: UUID, project_id: UUID) -> bool:
    return await conn.fetchval(_EXISTS, webhook_id, project_id) is not None


async def enqueue(
    conn: Connection,
    project_id: UUID,
    event_id: UUID,
    event_type: str,
    payload: dict[str, Any],
    occurred_at: datetime,
) -> None:
    """One pending delivery per matching webhook that existed when the event happened; none
    twice for the same event."""
    await conn.execute(_ENQUEUE, project_id, event_id, event_type, payload, occurred_at)


async def lease_due(
    conn: Connection, limit: int, lease: timedelta, per_webhook: int
) -> list[LeasedDelivery]:
    """Claim up to ``limit`` due deliveries, oldest first, at most ``per_webhook`` of each."""
    rows = await conn.fetch(_LEASE_DUE, limit, lease, per_webhook)
    return [LeasedDelivery(**dict(r)) for r in rows]


async def mark_delivered(conn: Connection, delivery_id: UUID, status: int) -> None:
    await conn.execute(_DELIVERED, delivery_id, status)


async def mark_failed(
    conn: Connection,
    delivery_id: UUID,
    status: int | None,
    error: str,
    max_attempts: int,
    retry_in: timedelta,
) -> str:
    """Record a failed try; the delivery's new status (``dead_lettered`` after the last)."""
    return str(
        await conn.fetchval(_FAILED, delivery_id, status, error[:500], max_attempts, retry_in)
    )


async def log(
    conn: Connection, webhook_id: UUID, before: datetime, limit: int
) -> list[WebhookDelivery]:
    return [WebhookDelivery(**dict(r)) for r in await conn.fetch(_LOG, webhook_id, before, limit)]
