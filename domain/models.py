"""Entities as the application layer sees them, independent of storage and transport."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID


class Entity:
    """Mixin: a plain-data view for replies and events (orjson encodes UUID and datetime)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload, no-any-return]


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
