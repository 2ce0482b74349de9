"""Notifications: decide who hears of an event, store it, push it live; list and mark read.

``deliver`` runs in the worker for each project event from Kafka; ``send_due_reminders`` and
``push_stragglers`` run on the worker's timers. Delivery is idempotent: a
notification is unique per (event, user), and the live push goes only to rows not yet marked
pushed, so an event delivered twice notifies once (a crash between push and mark can repeat a
push; clients drop a notification id they already hold).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from application.access import readers
from application.ports import NotificationPusher
from domain import commands as c
from domain.integration import IntegrationEvent
from domain.mentions import mentioned_ids, render_mentions
from domain.models import Notification, NotificationPreferences
from domain.notification_rules import Reason, recipients, task_of, uuids
from persistence import notifications, projects, reminders, tasks, users
from persistence.db import Connection

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(self, pool: asyncpg.Pool, pusher: NotificationPusher | None = None) -> None:
        self._pool = pool
        self._pusher = pusher

    async def deliver(self, event: IntegrationEvent) -> int:
        """Store and push the notifications ``event`` causes; the number stored now."""
        if event.kind != "project" or event.project_id is None:
            return 0
        watchers = uuids(event.context.get("watchers"))
        candidates = set(watchers) | _named_users(event.data)
        if not candidates:  # most events name nobody and concern no watched task
            return 0
        async with self._pool.acquire() as conn, conn.transaction():
            project = await projects.by_id(conn, event.project_id)
            if project is None:  # deleted since: nobody left to tell
                return 0
            allowed = set(await readers(conn, project, sorted(candidates)))
            chosen = recipients(event.type, event.data, event.actor_id, watchers, allowed)
            if not chosen:
                return 0
            task_id = task_of(event.data)
            summary = await _summary(conn, event)
            if task_id and "task_title" not in summary:
                task = await tasks.get(conn, task_id, project.id)
                if task is not None:  # the title now, for events that carry only the id
                    summary["task_title"] = task.title
            stored = await _store(
                conn,
                chosen,
                event_id=event.event_id,
                event_type=event.type,
                workspace_id=event.workspace_id,
                project_id=project.id,
                task_id=task_id,
                actor_id=event.actor_id,
                data=summary,
            )
            pending = await notifications.unpushed(conn, [event.event_id])
        await self._push(pending)
        return stored

    async def send_due_reminders(
        self, now: datetime, due_soon: timedelta, oldest: timedelta = timedelta(days=7)
    ) -> int:
        """Notify assignees of tasks due soon or overdue, once per task, kind and due date,
        however many workers run this at once and however often they restart."""
        event_ids: list[UUID] = []
        stored = 0
        async with self._pool.acquire() as conn, conn.transaction():
            for due in await reminders.claim_due(conn, now, due_soon, oldest, limit=500):
                project = await projects.by_id(conn, due.project_id)
                if project is None:
                    continue
                allowed = await readers(conn, project, due.assignees)
                event_id = reminder_event_id(due.task_id, due.kind, due.due_at)
                stored += await _store(
                    conn,
                    dict.fromkeys(allowed, Reason(due.kind)),
                    event_id=event_id,
                    event_type=f"task.{due.kind}",
                    workspace_id=due.workspace_id,
                    project_id=due.project_id,
                    task_id=due.task_id,
                    actor_id=None,
                    data={"task_title": due.title, "due_at": due.due_at.isoformat()},
                )
                event_ids.append(event_id)
            pending = await notifications.unpushed(conn, event_ids) if event_ids else []
        await self._push(pending)
        return stored

    async def push_stragglers(self, older_than: timedelta = timedelta(seconds=10)) -> int:
        """Push stored notifications whose live push never happened (a worker died between
        commit and push, or Redis was down). Clients drop ids they already hold."""
        if self._pusher is None:
            return 0
        async with self._pool.acquire() as conn:
            pending = await notifications.unpushed_before(
                conn, datetime.now(UTC) - older_than, limit=500
            )
        await self._push(pending)
        return len(pending)

    async def _push(self, pending: list[Notification]) -> None:
        if self._pusher is None or not pending:
            return
        pushed = []
        for notification in pending:
            try:
                await self._pusher.push(notification)
                pushed.append(notification.id)
            except Exception:
                # Stored is what counts: push_stragglers retries, and clients list on connect.
                log.exception("live push of notification %s failed", notification.id)
        async with self._pool.acquire() as conn:
            await notifications.mark_pushed(conn, pushed)

    # --- what clients ask for --------------------------------------------------------------

    async def list(self, user_id: UUID, cmd: c.ListNotifications) -> dict[str, Any]:
        before = cmd.before or datetime.now(UTC)
        async with self._pool.acquire() as conn:
            found = await notifications.list_for(conn, user_id, before, cmd.limit, cmd.unread_only)
            unread = await notifications.unread_count(conn, user_id)
        return {"notifications": [n.as_dict() for n in found], "unread": unread}

    async def mark_read(self, user_id: UUID, cmd: c.MarkNotificationsRead) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            changed = await notifications.mark_read(conn, user_id, None if cmd.all else cmd.ids)
            unread = await notifications.unread_count(conn, user_id)
        return {"marked": [str(i) for i in changed], "unread": unread}

    async def preferences(self, user_id: UUID) -> NotificationPreferences:
        async with self._pool.acquire() as conn:
            return await notifications.preferences(conn, user_id)

    async def set_preferences(
        self, user_id: UUID, cmd: c.SetNotificationPreferences
    ) -> NotificationPreferences:
        async with self._pool.acquire() as conn, conn.transaction():
            current = await notifications.preferences(conn, user_id)
            updated = NotificationPreferences(
                email_enabled=(
                    current.email_enabled if cmd.email_enabled is None else cmd.email_enabled
                ),
                muted_projects=(
                    current.muted_projects
                    if cmd.muted_projects is None
                    else sorted(set(cmd.muted_projects))
                ),
            )
            await notifications.save_preferences(conn, user_id, updated)
        return updated


REMINDER_NAMESPACE = uuid.UUID("6f1c8d2e-4b7a-4c39-9a55-0d3e2f1b7c64")


def reminder_event_id(task_id: UUID, kind: str, due_at: datetime) -> UUID:
    """A stable id per (task, kind, due date): the reminder's notifications dedupe on it."""
    return uuid.uuid5(REMINDER_NAMESPACE, f"{task_id}:{kind}:{due_at.isoformat()}")


async def _store(
    conn: Connection,
    chosen: dict[UUID, Reason],
    *,
    event_id: UUID,
    event_type: str,
    workspace_id: UUID | None,
    project_id: UUID,
    task_id: UUID | None,
    actor_id: UUID | None,
    data: dict[str, Any],
) -> int:
    """Insert one notification per chosen user who has not muted the project; the number of
    new rows (a redelivered event inserts none)."""
    muted = await notifications.muted_among(conn, list(chosen), project_id)
    stored = 0
    for user_id, reason in chosen.items():
        if user_id in muted:
            continue
        stored += await notifications.insert(
            conn,
            {
                "id": uuid.uuid4(),
                "user_id": user_id,
                "event_id": event_id,
                "reason": reason.value,
                "type": event_type,
                "workspace_id": workspace_id,
                "project_id": project_id,
                "task_id": task_id,
                "actor_id": actor_id,
                "data": data,
            },
        )
    return stored


def _named_users(data: dict[str, Any]) -> set[UUID]:
    """Users an event names directly: the assignee, the @mentioned."""
    return set(uuids([data.get("user_id"), *(data.get("mentions") or [])]))


async def _summary(conn: Connection, event: IntegrationEvent) -> dict[str, Any]:
    """What a notification shows without another lookup: the event's seq and a short text
    (mentions in a comment written as ``@Name``)."""
    summary: dict[str, Any] = {"seq": event.seq}
    task = event.data.get("task")
    if isinstance(task, dict) and "title" in task:
        summary["task_title"] = task["title"]
    comment = event.data.get("comment")
    if isinstance(comment, dict) and "body" in comment:
        body = str(comment["body"])
        names = await users.display_names(conn, mentioned_ids(body))
        summary["comment_excerpt"] = render_mentions(body, names)[:200]
    return summary
