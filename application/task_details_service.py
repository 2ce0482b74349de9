"""Everything on a task beyond title and position: archive, assignees, watchers, labels,
checklists and comments (with @mentions). Every change goes through the one project write path
(``ProjectWrites``), so it is authorized, idempotent, sequenced, logged and broadcast like any
other; event data names the ``task_id`` so a task's history can be read from the log.
"""

from __future__ import annotations

import uuid
from uuid import UUID

from application.access import missing, readable_mentions, readers
from application.outcomes import Outcome
from application.placement import place_after, with_rebalanced
from application.project_writes import Actor, Apply, Change, ProjectWrites
from domain import commands as c
from domain.errors import Conflict, Forbidden, InvalidPayload, NotFound
from domain.events import EventType
from domain.models import ChecklistItem, Column, Task
from domain.permissions import Action, ProjectRole
from persistence import checklists, columns, comments, labels, task_links, tasks
from persistence.db import Connection
from persistence.errors import DuplicateKey
from persistence.positions import Anchor


def _too_many(field: str, limit: int, what: str) -> InvalidPayload:
    return InvalidPayload(
        f"At most {limit} {what}.",
        [{"field": field, "message": f"at most {limit} {what}", "type": "too_many"}],
    )


def _ids(task_id: UUID, **more: UUID | str) -> dict[str, str]:
    return {"task_id": str(task_id), **{k: str(v) for k, v in more.items()}}


async def _task(conn: Connection, actor: Actor, task_id: UUID) -> Task:
    task = await tasks.get(conn, task_id, actor.project.id)
    if task is None:
        raise missing("task", task_id, "task_id")
    return task


class TaskDetailsService:
    def __init__(self, writes: ProjectWrites) -> None:
        self._writes = writes

    async def _run(
        self, user_id: UUID, cmd: c.ProjectMutation, action: Action, apply: Apply
    ) -> Outcome:
        return await self._writes.run(user_id, cmd, action, apply)

    # --- archive and restore ----------------------------------------------------------------

    async def archive_task(self, user_id: UUID, cmd: c.ArchiveTask) -> Outcome:
        return await self._archive_task(user_id, cmd, archived=True)

    async def restore_task(self, user_id: UUID, cmd: c.RestoreTask) -> Outcome:
        return await self._archive_task(user_id, cmd, archived=False)

    async def _archive_task(self, user_id: UUID, cmd: c.TaskMutation, archived: bool) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            current = await _task(conn, actor, cmd.task_id)
            task = await tasks.set_archived(conn, cmd.task_id, actor.project.id, archived)
            if task is None:
                raise _already(current.archived_at is not None, current.as_dict())
            kind = EventType.TASK_ARCHIVED if archived else EventType.TASK_RESTORED
            return Change(kind, {"task_id": str(task.id), "task": task.as_dict()}, task.as_dict())

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def archive_column(self, user_id: UUID, cmd: c.ArchiveColumn) -> Outcome:
        return await self._archive_column(user_id, cmd, cmd.column_id, archived=True)

    async def restore_column(self, user_id: UUID, cmd: c.RestoreColumn) -> Outcome:
        return await self._archive_column(user_id, cmd, cmd.column_id, archived=False)

    async def _archive_column(
        self, user_id: UUID, cmd: c.ProjectMutation, column_id: UUID, archived: bool
    ) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            current = await columns.get(conn, column_id, actor.project.id)
            if current is None:
                raise missing("column", column_id, "column_id")
            column = await columns.set_archived(conn, column_id, actor.project.id, archived)
            if column is None:
                raise _already(current.archived_at is not None, current.as_dict())
            kind = EventType.COLUMN_ARCHIVED if archived else EventType.COLUMN_RESTORED
            return _column_change(kind, column)

        return await self._run(user_id, cmd, Action.COLUMN_WRITE, apply)

    # --- assignees and watchers -------------------------------------------------------------

    async def assign(self, user_id: UUID, cmd: c.AssignTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            if not await readers(conn, actor.project, [cmd.user_id]):
                raise NotFound(
                    "Only members who can see this project can be assigned.",
                    {"field": "user_id", "id": str(cmd.user_id)},
                )
            if await task_links.assignees.count(conn, cmd.task_id) >= c.MAX_ASSIGNEES:
                raise _too_many("user_id", c.MAX_ASSIGNEES, "assignees per task")
            if not await task_links.assignees.add(conn, cmd.task_id, cmd.user_id):
                raise Conflict("Already assigned.", {"field": "user_id"})
            await task_links.watchers.add(conn, cmd.task_id, cmd.user_id)  # assignees watch
            ids = _ids(cmd.task_id, user_id=cmd.user_id)
            return Change(EventType.TASK_ASSIGNED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def unassign(self, user_id: UUID, cmd: c.UnassignTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            if not await task_links.assignees.remove(conn, cmd.task_id, cmd.user_id):
                raise NotFound("Not assigned.", {"field": "user_id", "id": str(cmd.user_id)})
            ids = _ids(cmd.task_id, user_id=cmd.user_id)
            return Change(EventType.TASK_UNASSIGNED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def watch(self, user_id: UUID, cmd: c.WatchTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            await task_links.watchers.add(conn, cmd.task_id, user_id)
            ids = _ids(cmd.task_id, user_id=user_id)
            return Change(EventType.TASK_WATCHED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WATCH, apply)

    async def unwatch(self, user_id: UUID, cmd: c.UnwatchTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            await task_links.watchers.remove(conn, cmd.task_id, user_id)
            ids = _ids(cmd.task_id, user_id=user_id)
            return Change(EventType.TASK_UNWATCHED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WATCH, apply)

    # --- labels -------------------------------------------------------------------------------

    async def create_label(self, user_id: UUID, cmd: c.CreateLabel) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            if await labels.count(conn, actor.project.id) >= c.MAX_LABELS_PER_PROJECT:
                raise _too_many("name", c.MAX_LABELS_PER_PROJECT, "labels per project")
            try:
                label = await labels.insert(
                    conn, uuid.uuid4(), actor.project.id, cmd.name, cmd.color
                )
            except DuplicateKey as exc:
                raise _label_taken() from exc
            return Change(EventType.LABEL_CREATED, {"label": label.as_dict()}, label.as_dict())

        return await self._run(user_id, cmd, Action.LABEL_WRITE, apply)

    async def update_label(self, user_id: UUID, cmd: c.UpdateLabel) -> Outcome:
        if cmd.name is None and cmd.color is None:
            raise InvalidPayload(
                "Name at least one field to change.",
                [{"field": "name", "message": "name or color is required", "type": "missing"}],
            )

        async def apply(conn: Connection, actor: Actor) -> Change:
            try:
                label = await labels.update(
                    conn, cmd.label_id, actor.project.id, cmd.name, cmd.color
                )
            except DuplicateKey as exc:
                raise _label_taken() from exc
            if label is None:
                raise missing("label", cmd.label_id, "label_id")
            return Change(EventType.LABEL_UPDATED, {"label": label.as_dict()}, label.as_dict())

        return await self._run(user_id, cmd, Action.LABEL_WRITE, apply)

    async def delete_label(self, user_id: UUID, cmd: c.DeleteLabel) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            if not await labels.delete(conn, cmd.label_id, actor.project.id):
                raise missing("label", cmd.label_id, "label_id")
            ids = {"label_id": str(cmd.label_id)}
            return Change(EventType.LABEL_DELETED, ids, ids)

        return await self._run(user_id, cmd, Action.LABEL_WRITE, apply)

    async def label_task(self, user_id: UUID, cmd: c.LabelTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            if await labels.get(conn, cmd.label_id, actor.project.id) is None:
                raise missing("label", cmd.label_id, "label_id")
            if await task_links.task_labels.count(conn, cmd.task_id) >= c.MAX_LABELS_PER_TASK:
                raise _too_many("label_id", c.MAX_LABELS_PER_TASK, "labels per task")
            if not await task_links.task_labels.add(conn, cmd.task_id, cmd.label_id):
                raise Conflict("The task already has this label.", {"field": "label_id"})
            ids = _ids(cmd.task_id, label_id=cmd.label_id)
            return Change(EventType.TASK_LABELED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def unlabel_task(self, user_id: UUID, cmd: c.UnlabelTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            if not await task_links.task_labels.remove(conn, cmd.task_id, cmd.label_id):
                raise missing("label on this task", cmd.label_id, "label_id")
            ids = _ids(cmd.task_id, label_id=cmd.label_id)
            return Change(EventType.TASK_UNLABELED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    # --- checklists ---------------------------------------------------------------------------

    async def add_checklist_item(self, user_id: UUID, cmd: c.AddChecklistItem) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            if await checklists.count(conn, cmd.task_id) >= c.MAX_CHECKLIST_ITEMS:
                raise _too_many("text", c.MAX_CHECKLIST_ITEMS, "checklist items per task")
            item_id = uuid.uuid4()
            placement = await place_after(
                conn, "checklist_items", "task_id", cmd.task_id, cmd.after_id, Anchor.END, item_id
            )
            item = await checklists.insert(conn, item_id, cmd.task_id, cmd.text, placement.key)
            return with_rebalanced(_item_change(EventType.CHECKLIST_ITEM_ADDED, item), placement)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def toggle_checklist_item(self, user_id: UUID, cmd: c.ToggleChecklistItem) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            item = await checklists.toggle(conn, cmd.item_id, actor.project.id, cmd.done)
            if item is None:
                raise missing("checklist item", cmd.item_id, "item_id")
            return _item_change(EventType.CHECKLIST_ITEM_TOGGLED, item)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def move_checklist_item(self, user_id: UUID, cmd: c.MoveChecklistItem) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            current = await checklists.get(conn, cmd.item_id, actor.project.id)
            if current is None:
                raise missing("checklist item", cmd.item_id, "item_id")
            placement = await place_after(
                conn,
                "checklist_items",
                "task_id",
                current.task_id,
                cmd.after_id,
                Anchor.START,
                cmd.item_id,
            )
            item = await checklists.move(conn, cmd.item_id, actor.project.id, placement.key)
            assert item is not None  # the project is locked: it cannot have gone
            return with_rebalanced(_item_change(EventType.CHECKLIST_ITEM_MOVED, item), placement)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    async def delete_checklist_item(self, user_id: UUID, cmd: c.DeleteChecklistItem) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            task_id = await checklists.delete(conn, cmd.item_id, actor.project.id)
            if task_id is None:
                raise missing("checklist item", cmd.item_id, "item_id")
            ids = _ids(task_id, item_id=cmd.item_id)
            return Change(EventType.CHECKLIST_ITEM_DELETED, ids, ids)

        return await self._run(user_id, cmd, Action.TASK_WRITE, apply)

    # --- comments -----------------------------------------------------------------------------

    async def create_comment(self, user_id: UUID, cmd: c.CreateComment) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            await _task(conn, actor, cmd.task_id)
            comment = await comments.insert(
                conn, uuid.uuid4(), cmd.task_id, actor.project.id, user_id, cmd.body
            )
            await task_links.watchers.add(conn, cmd.task_id, user_id)  # commenters watch
            mentions = await readable_mentions(conn, actor.project, cmd.body)
            data = {"task_id": str(cmd.task_id), "comment": comment.as_dict(), "mentions": mentions}
            return Change(EventType.COMMENT_CREATED, data, comment.as_dict())

        return await self._run(user_id, cmd, Action.COMMENT_WRITE, apply)

    async def edit_comment(self, user_id: UUID, cmd: c.EditComment) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            current = await comments.get(conn, cmd.comment_id, actor.project.id)
            if current is None:
                raise missing("comment", cmd.comment_id, "comment_id")
            if current.author_id != user_id:
                raise Forbidden(
                    "Only its author may edit a comment.",
                    {"action": str(Action.COMMENT_WRITE), "role": str(actor.role)},
                )
            comment = await comments.edit(conn, cmd.comment_id, actor.project.id, cmd.body)
            mentions = await readable_mentions(conn, actor.project, cmd.body)
            data = {
                "task_id": str(comment.task_id),
                "comment": comment.as_dict(),
                "mentions": mentions,
            }
            return Change(EventType.COMMENT_EDITED, data, comment.as_dict())

        return await self._run(user_id, cmd, Action.COMMENT_WRITE, apply)

    async def delete_comment(self, user_id: UUID, cmd: c.DeleteComment) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            current = await comments.get(conn, cmd.comment_id, actor.project.id)
            if current is None:
                raise missing("comment", cmd.comment_id, "comment_id")
            if current.author_id != user_id and actor.role is not ProjectRole.MANAGER:
                raise Forbidden(
                    "Only its author or a project manager may delete a comment.",
                    {"action": str(Action.COMMENT_DELETE), "role": str(actor.role)},
                )
            await comments.delete(conn, cmd.comment_id, actor.project.id)
            ids = _ids(current.task_id, comment_id=cmd.comment_id)
            return Change(EventType.COMMENT_DELETED, ids, ids)

        return await self._run(user_id, cmd, Action.COMMENT_DELETE, apply)


def _already(archived: bool, current: dict[str, object]) -> Conflict:
    state = "archived" if archived else "not archived"
    return Conflict(
        f"It is already {state}.",
        {"reason": f"already_{state.replace(' ', '_')}", "current": current},
    )


def _label_taken() -> Conflict:
    return Conflict("This project already has a label with that name.", {"field": "name"})


def _column_change(kind: EventType, column: Column) -> Change:
    return Change(kind, {"column": column.as_dict()}, column.as_dict())


def _item_change(kind: EventType, item: ChecklistItem) -> Change:
    return Change(kind, {"task_id": str(item.task_id), "item": item.as_dict()}, item.as_dict())
