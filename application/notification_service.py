"""Notifications: decide who hears of an event, store it, push it live; list and mark read.

``deliver`` runs in the worker for each project event from Kafka. It is idempotent: a
notification is unique per (event, user), and the live push goes only to rows not yet marked
pushed, so an event delivered twice notifies once (a crash between push and mark can repeat a
push; clients drop a notification id they already hold).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from application.access import readers
from application.ports import NotificationPusher
from domain import commands as c
from domain.integration import IntegrationEvent
from domain.models import Notification, NotificationPreferences
from domain.notification_rules import recipients, task_of, uuids
from persistence import notifications, projects

log = logging.getLogger(__name__)


class NotificationService:
    def __init__(self, pool: asyncpg.Pool, pusher: NotificationPusher | None = None) -> None:
        self._pool = pool
        self._pusher = pusher

    async def deliver(self, event: IntegrationEvent) -> int:
        """Store and push the notifications ``event`` causes; the number stored now."""
        if event.kind != "project" or event.project_id is None:
            return 0
        stored = 0
        async with self._pool.acquire() as conn, conn.transaction():
            project = await projects.by_id(conn, event.project_id)
            if project is None:  # deleted since: nobody left to tell
                return 0
            task_id = task_of(event.data)
            watchers = uuids(event.context.get("watchers"))
            candidates = set(watchers) | _named_users(event.data)
            allowed = set(await readers(conn, project, sorted(candidates)))
            chosen = recipients(event.type, event.data, event.actor_id, watchers, allowed)
            muted = await notifications.muted_among(conn, list(chosen), project.id)
            for user_id, reason in chosen.items():
                if user_id in muted:
                    continue
                await notifications.insert(
                    conn,
                    {
                        "id": uuid.uuid4(),
                        "user_id": user_id,
                        "event_id": event.event_id,
                        "reason": reason.value,
                        "type": event.type,
                        "workspace_id": event.workspace_id,
                        "project_id": event.project_id,
                        "task_id": task_id,
                        "actor_id": event.actor_id,
                        "data": _summary(event),
                    },
                )
                stored += 1
            pending = await notifications.unpushed(conn, event.event_id)
        await self._push(pending)
        return stored

    async def _push(self, pending: list[Notification]) -> None:
        if self._pusher is None or not pending:
            return
        pushed = []
        for notification in pending:
            try:
                await self._pusher.push(notification)
                pushed.append(notification.id)
            except Exception:
                # Stored is what counts: the client lists unread notifications on connect.
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


def _named_users(data: dict[str, Any]) -> set[UUID]:
    """Users an event names directly: the assignee, the @mentioned."""
    return set(uuids([data.get("user_id"), *(data.get("mentions") or [])]))


def _summary(event: IntegrationEvent) -> dict[str, Any]:
    """What a notification shows without another lookup: the event's seq and a short text."""
    summary: dict[str, Any] = {"seq": event.seq}
    task = event.data.get("task")
    if isinstance(task, dict) and "title" in task:
        summary["task_title"] = task["title"]
    comment = event.data.get("comment")
    if isinstance(comment, dict) and "body" in comment:
        summary["comment_excerpt"] = str(comment["body"])[:200]
    return summary
