"""Who is notified of a project event, and why (docs/events.md, "Notifications").

Pure rules: the notification agent supplies the task's watchers as of the event's commit and
the project's current readers; one user gets at most one notification per event, with the
most specific reason.
The actor is never notified of their own change.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.events import EventType


class Reason(StrEnum):
    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    COMMENTED = "commented"  # a comment on a task you watch
    CHANGED = "changed"  # a change to a task you watch
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


# Changes to a task that its watchers hear about (not every label or checklist tick).
WATCHED_CHANGES = frozenset(
    {
        EventType.TASK_UPDATED,
        EventType.TASK_MOVED,
        EventType.TASK_ARCHIVED,
        EventType.TASK_RESTORED,
        EventType.TASK_ASSIGNED,
    }
)


NOTIFIES_WATCHERS = WATCHED_CHANGES | {EventType.COMMENT_CREATED}


def task_of(data: dict[str, Any]) -> UUID | None:
    """The task an event concerns, if any (``task_id``, or the ``task`` it carries)."""
    raw = data.get("task_id")
    if raw is None and isinstance(data.get("task"), dict):
        raw = data["task"].get("id")
    try:
        return UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None


def uuids(values: object) -> list[UUID]:
    """The valid UUIDs of a JSON list (anything else is skipped)."""
    if not isinstance(values, list):
        return []
    found = []
    for value in values:
        try:
            found.append(UUID(str(value)))
        except ValueError:
            continue
    return found


def recipients(
    event_type: str,
    data: dict[str, Any],
    actor_id: UUID | None,
    watchers: Collection[UUID],
    readers: Collection[UUID],
) -> dict[UUID, Reason]:
    """Each user to notify with the reason; only users who may still read the project."""
    chosen: dict[UUID, Reason] = {}

    def add(user_id: UUID, reason: Reason) -> None:
        if user_id != actor_id and user_id in readers and user_id not in chosen:
            chosen[user_id] = reason

    if event_type == EventType.TASK_ASSIGNED:
        for user_id in uuids([data.get("user_id")]):
            add(user_id, Reason.ASSIGNED)
    if event_type in (EventType.COMMENT_CREATED, EventType.COMMENT_EDITED):
        for user_id in uuids(data.get("mentions")):
            add(user_id, Reason.MENTIONED)
    if event_type == EventType.COMMENT_CREATED:
        for user_id in watchers:
            add(user_id, Reason.COMMENTED)
    if event_type in WATCHED_CHANGES:
        for user_id in watchers:
            add(user_id, Reason.CHANGED)
    return chosen
