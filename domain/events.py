"""Project event types. Past tense: they record what happened, in the order of ``seq``."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    PROJECT_CREATED = "project.created"
    COLUMN_CREATED = "column.created"
    COLUMN_RENAMED = "column.renamed"
    COLUMN_MOVED = "column.moved"
    COLUMN_DELETED = "column.deleted"
    TASK_CREATED = "task.created"
    TASK_UPDATED = "task.updated"
    TASK_MOVED = "task.moved"
    TASK_DELETED = "task.deleted"
