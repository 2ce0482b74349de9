"""E-mail digests: which users have unread notifications not yet e-mailed, and the claim that
lets one worker at a time send one user's digest."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from domain.models import Notification, User
from persistence.db import Connection
from persistence.notifications import visible_to_reader

# SQL text: a claim by conditional upsert and row locks with SKIP LOCKED are beyond pypika.
_USERS_WAITING = """
SELECT DISTINCT n.user_id FROM notifications n
LEFT JOIN notification_preferences p ON p.user_id = n.user_id
LEFT JOIN email_digests d ON d.user_id = n.user_id
WHERE n.emailed_at IS NULL AND n.read_at IS NULL AND n.created_at > $1::timestamptz - $3::interval
  AND coalesce(p.email_enabled, true)
  AND (d.last_sent_at IS NULL OR d.last_sent_at <= $1::timestamptz - $2::interval)
LIMIT $4
"""
_CLAIM_USER = """
INSERT INTO email_digests AS d (user_id, last_sent_at) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET last_sent_at = EXCLUDED.last_sent_at
WHERE d.last_sent_at <= $2::timestamptz - $3::interval
RETURNING user_id
"""
# VISIBLE becomes our own condition (persistence.notifications), never input.
_LOCK_PENDING = """
SELECT n.id, n.user_id, n.event_id, n.reason, n.type, n.workspace_id, n.project_id, n.task_id,
       n.actor_id, n.data, n.created_at, n.read_at
FROM notifications n
WHERE n.user_id = $1 AND n.emailed_at IS NULL AND n.read_at IS NULL
  AND n.created_at > $2::timestamptz - $3::interval AND VISIBLE
ORDER BY n.created_at
LIMIT 200
FOR UPDATE OF n SKIP LOCKED
""".replace(  # nosec B608
    "VISIBLE", visible_to_reader("n")
)
_MARK_EMAILED = "UPDATE notifications SET emailed_at = now() WHERE id = ANY($1::uuid[])"
_RECIPIENT = "SELECT id, email, display_name, created_at FROM users WHERE id = $1"


async def users_waiting(
    conn: Connection, now: datetime, interval: timedelta, oldest: timedelta, limit: int
) -> list[UUID]:
    return [r["user_id"] for r in await conn.fetch(_USERS_WAITING, now, interval, oldest, limit)]


async def claim_user(conn: Connection, user_id: UUID, now: datetime, interval: timedelta) -> bool:
    """Take this user's digest slot for this interval (row-locked until commit); False when
    another worker sent one less than ``interval`` ago."""
    return await conn.fetchval(_CLAIM_USER, user_id, now, interval) is not None


async def lock_pending(
    conn: Connection, user_id: UUID, now: datetime, oldest: timedelta
) -> list[Notification]:
    return [Notification(**dict(r)) for r in await conn.fetch(_LOCK_PENDING, user_id, now, oldest)]


async def mark_emailed(conn: Connection, ids: list[UUID]) -> None:
    await conn.execute(_MARK_EMAILED, ids)


async def recipient(conn: Connection, user_id: UUID) -> User | None:
    row = await conn.fetchrow(_RECIPIENT, user_id)
    return User(**dict(row)) if row else None
