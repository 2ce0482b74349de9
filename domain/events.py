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
    TASK_ARCHIVED = "task.archived"
    TASK_RESTORED = "task.restored"
    COLUMN_ARCHIVED = "column.archived"
    COLUMN_RESTORED = "column.restored"
    TASK_ASSIGNED = "task.assigned"
    TASK_UNASSIGNED = "task.unassigned"
    TASK_WATCHED = "task.watched"
    TASK_UNWATCHED = "task.unwatched"
    LABEL_CREATED = "label.created"
    LABEL_UPDATED = "label.updated"
    LABEL_DELETED = "label.deleted"
    TASK_LABELED = "task.labeled"
    TASK_UNLABELED = "task.unlabeled"
    CHECKLIST_ITEM_ADDED = "checklist.item_added"
    CHECKLIST_ITEM_TOGGLED = "checklist.item_toggled"
    CHECKLIST_ITEM_MOVED = "checklist.item_moved"
    CHECKLIST_ITEM_DELETED = "checklist.item_deleted"
    COMMENT_CREATED = "comment.created"
    COMMENT_EDITED = "comment.edited"
    COMMENT_DELETED = "comment.deleted"
