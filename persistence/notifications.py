"""Stored notifications and per-user notification preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pypika import Order
from pypika import functions as fn
from pypika.terms import Function, LiteralValue

from domain.models import Notification, NotificationPreferences
from persistence.db import Connection
from persistence.sql import Query, notification_preferences, notifications, p

n = notifications
prefs = notification_preferences


_VISIBLE_TEMPLATE = """(
    T.workspace_id IS NULL OR EXISTS (
        SELECT 1 FROM workspace_members wm
        WHERE wm.workspace_id = T.workspace_id AND wm.user_id = T.user_id
          AND (wm.role <> 'guest' OR T.project_id IS NULL OR EXISTS (
              SELECT 1 FROM project_members pm
              WHERE pm.project_id = T.project_id AND pm.user_id = T.user_id))))"""


def visible_to_reader(table: str) -> str:
    """SQL condition on the notification row ``table`` (a name in this package's own queries,
    never input): its reader may still see where it came from. A member removed from the
    workspace, or a guest from the project, no longer lists, counts or receives by e-mail
    what happened there (task titles, comment excerpts)."""
    return _VISIBLE_TEMPLATE.replace("T.", f"{table}.")


_VISIBLE = LiteralValue(visible_to_reader('"notifications"'))

_FIELDS = (
    n.id,
    n.user_id,
    n.event_id,
    n.reason,
    n.type,
    n.workspace_id,
    n.project_id,
    n.task_id,
    n.actor_id,
    n.data,
    n.created_at,
    n.read_at,
)
_INSERT = str(
    Query.into(n)
    .columns(*_FIELDS[:10])
    .insert(*(p(i + 1) for i in range(10)))
    .on_conflict(n.event_id, n.user_id)
    .do_nothing()
    .returning(n.id)
)
_UNPUSHED = str(
    Query.from_(n)
    .select(*_FIELDS)
    .where((n.event_id == Function("ANY", p(1))) & n.pushed_at.isnull())
)
_UNPUSHED_BEFORE = str(
    Query.from_(n)
    .select(*_FIELDS)
    .where(n.pushed_at.isnull() & (n.created_at < p(1)))
    .orderby(n.created_at)
    .limit(p(2))
)
# Only a placeholder is formatted in: no value reaches the SQL text.
_MARK_PUSHED = f"UPDATE notifications SET pushed_at = now() WHERE id = ANY({p(1)}::uuid[])"  # noqa: S608  # nosec B608
_LIST = str(
    Query.from_(n)
    .select(*_FIELDS)
    .where((n.user_id == p(1)) & (n.created_at < p(2)) & _VISIBLE)
    .orderby(n.created_at, order=Order.desc)
    .orderby(n.id, order=Order.desc)
    .limit(p(3))
)
_LIST_UNREAD = str(
    Query.from_(n)
    .select(*_FIELDS)
    .where((n.user_id == p(1)) & (n.created_at < p(2)) & n.read_at.isnull() & _VISIBLE)
    .orderby(n.created_at, order=Order.desc)
    .orderby(n.id, order=Order.desc)
    .limit(p(3))
)
_UNREAD_COUNT = str(
    Query.from_(n).select(fn.Count("*")).where((n.user_id == p(1)) & n.read_at.isnull() & _VISIBLE)
)
_MARK_READ = (
    "UPDATE notifications SET read_at = now() "
    "WHERE user_id = $1 AND id = ANY($2::uuid[]) AND read_at IS NULL RETURNING id"
)
_MARK_ALL_READ = (
    "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL RETURNING id"
)
_GET_PREFS = str(
    Query.from_(prefs)
    .select(prefs.email_enabled, prefs.muted_projects)
    .where(prefs.user_id == p(1))
)
_PUT_PREFS = (
    "INSERT INTO notification_preferences (user_id, email_enabled, muted_projects) "
    "VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE "
    "SET email_enabled = EXCLUDED.email_enabled, muted_projects = EXCLUDED.muted_projects"
)
_MUTED_AMONG = (
    "SELECT user_id FROM notification_preferences "
    "WHERE user_id = ANY($1::uuid[]) AND $2 = ANY(muted_projects)"
)


def _entity(row: Any) -> Notification:
    return Notification(**dict(row))


async def insert(conn: Connection, values: dict[str, Any]) -> bool:
    """Store one notification; False when one for the same (event, user) exists already."""
    return await conn.fetchval(_INSERT, *(values[f.name] for f in _FIELDS[:10])) is not None


async def unpushed(conn: Connection, event_ids: list[UUID]) -> list[Notification]:
    return [_entity(r) for r in await conn.fetch(_UNPUSHED, event_ids)]


async def unpushed_before(conn: Connection, before: datetime, limit: int) -> list[Notification]:
    return [_entity(r) for r in await conn.fetch(_UNPUSHED_BEFORE, before, limit)]


async def mark_pushed(conn: Connection, ids: list[UUID]) -> None:
    await conn.execute(_MARK_PUSHED, ids)


async def list_for(
    conn: Connection, user_id: UUID, before: datetime, limit: int, unread_only: bool
) -> list[Notification]:
    query = _LIST_UNREAD if unread_only else _LIST
    return [_entity(r) for r in await conn.fetch(query, user_id, before, limit)]


async def unread_count(conn: Connection, user_id: UUID) -> int:
    return int(await conn.fetchval(_UNREAD_COUNT, user_id))


async def mark_read(conn: Connection, user_id: UUID, ids: list[UUID] | None) -> list[UUID]:
    """Mark the user's notifications read (all when ``ids`` is None); the ids changed."""
    if ids is None:
        rows = await conn.fetch(_MARK_ALL_READ, user_id)
    else:
        rows = await conn.fetch(_MARK_READ, user_id, ids)
    return [r["id"] for r in rows]


async def preferences(conn: Connection, user_id: UUID) -> NotificationPreferences:
    row = await conn.fetchrow(_GET_PREFS, user_id)
    if row is None:
        return NotificationPreferences(email_enabled=True, muted_projects=[])
    return NotificationPreferences(row["email_enabled"], list(row["muted_projects"]))


async def save_preferences(conn: Connection, user_id: UUID, value: NotificationPreferences) -> None:
    await conn.execute(_PUT_PREFS, user_id, value.email_enabled, value.muted_projects)


async def muted_among(conn: Connection, user_ids: list[UUID], project_id: UUID) -> set[UUID]:
    """Those of ``user_ids`` who muted ``project_id``."""
    return {r["user_id"] for r in await conn.fetch(_MUTED_AMONG, user_ids, project_id)}
