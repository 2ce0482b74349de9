"""Entities as the application layer sees them, independent of storage and transport."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID


class Entity:
    """Mixin: a plain-data view for replies and events (orjson encodes UUID and datetime).

    Shallow on purpose: entities are frozen and their values immutable, so unlike
    ``dataclasses.asdict`` nothing is deep-copied (that copy was 11-17 % of the server's CPU per
    operation in the first benchmark). Nested entities and lists of them are converted too.
    """

    def as_dict(self) -> dict[str, Any]:
        return {name: _plain(getattr(self, name)) for name in _field_names(type(self))}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields(cls))
    return names


def _plain(value: Any) -> Any:
    if isinstance(value, Entity):
        return value.as_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class User(Entity):
    id: UUID
    email: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Workspace(Entity):
    id: UUID
    name: str
    created_by: UUID
    created_at: datetime
    role: str


@dataclass(frozen=True, slots=True)
class Project(Entity):
    id: UUID
    workspace_id: UUID
    name: str
    created_by: UUID
    created_at: datetime
    last_seq: int


@dataclass(frozen=True, slots=True)
class Column(Entity):
    id: UUID
    project_id: UUID
    name: str
    position: str
    version: int
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class Task(Entity):
    id: UUID
    project_id: UUID
    column_id: UUID
    title: str
    description: str
    position: str
    version: int
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None
    archived_at: datetime | None


@dataclass(frozen=True, slots=True)
class ProjectEvent(Entity):
    """One entry of a project's gapless event log; also what the room receives."""

    project_id: UUID
    seq: int
    type: str
    actor_id: UUID
    op_id: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BoardSnapshot(Entity):
    """Everything a client needs to draw a board, consistent with ``seq``."""

    project: Project
    columns: list[Column]
    tasks: list[Task]
    labels: list[Label]
    assignments: list[dict[str, UUID]]
    task_labels: list[dict[str, UUID]]
    seq: int


@dataclass(frozen=True, slots=True)
class Member(Entity):
    user_id: UUID
    email: str
    display_name: str
    role: str
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class Invitation(Entity):
    id: UUID
    workspace_id: UUID
    email: str
    role: str
    project_id: UUID | None
    project_role: str | None
    invited_by: UUID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Label(Entity):
    id: UUID
    project_id: UUID
    name: str
    color: str


@dataclass(frozen=True, slots=True)
class ChecklistItem(Entity):
    id: UUID
    task_id: UUID
    text: str
    done: bool
    position: str


@dataclass(frozen=True, slots=True)
class Comment(Entity):
    id: UUID
    task_id: UUID
    project_id: UUID
    author_id: UUID
    body: str
    created_at: datetime
    edited_at: datetime | None


@dataclass(frozen=True, slots=True)
class Notification(Entity):
    id: UUID
    user_id: UUID
    event_id: UUID
    reason: str
    type: str
    workspace_id: UUID | None
    project_id: UUID | None
    task_id: UUID | None
    actor_id: UUID | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True, slots=True)
class NotificationPreferences(Entity):
    email_enabled: bool
    muted_projects: list[UUID]


@dataclass(frozen=True, slots=True)
class Webhook(Entity):
    """A project's outgoing webhook. The secret is shown once, when it is created."""

    id: UUID
    project_id: UUID
    url: str
    event_types: list[str]
    created_by: UUID
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookDelivery(Entity):
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
