"""Workspaces, projects, columns and tasks: every board operation of the core loop.

Each project mutation is an ``apply`` closure run by the one write path,
``application.project_writes.ProjectWrites`` (authorize, sequence, log, commit, publish).
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import asyncpg

from application.access import (
    missing,
    project_access,
    readable_mentions,
    visible_projects,
    workspace_access,
)
from application.outcomes import Outcome, claim_op, record_outcome
from application.placement import place_after, with_rebalanced
from application.ports import RoomMembership
from application.project_writes import Actor, Change, ProjectWrites, append_event
from domain import commands as c
from domain.conflicts import conflicting_fields, stamped
from domain.errors import BoardroomError, Conflict, Forbidden, InvalidPayload, NotFound
from domain.events import EventType
from domain.models import BoardSnapshot, Column, Project, ProjectEvent, Task, Workspace
from domain.permissions import Action
from persistence import columns, events, labels, projects, task_links, tasks, workspaces
from persistence.db import Connection
from persistence.positions import Anchor


class BoardService:
    def __init__(self, pool: asyncpg.Pool, writes: ProjectWrites, replay_window: int) -> None:
        self._pool = pool
        self._writes = writes
        self._replay_window = replay_window

    # --- workspaces -----------------------------------------------------------------------

    async def create_workspace(self, user_id: UUID, cmd: c.CreateWorkspace) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            workspace = await workspaces.insert(conn, uuid.uuid4(), cmd.name, user_id)
            outcome = Outcome(workspace.as_dict())
            await record_outcome(conn, user_id, cmd, outcome)
            return outcome

    async def list_workspaces(self, user_id: UUID) -> list[Workspace]:
        async with self._pool.acquire() as conn:
            return await workspaces.list_for_user(conn, user_id)

    # --- projects -------------------------------------------------------------------------

    async def create_project(self, user_id: UUID, cmd: c.CreateProject) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            await workspace_access(conn, cmd.workspace_id, user_id, Action.PROJECT_CREATE)
            project = await projects.insert(conn, uuid.uuid4(), cmd.workspace_id, cmd.name, user_id)
            seq = await projects.next_seq(conn, project.id)
            data = {"project": project.as_dict() | {"last_seq": seq}}
            event = await append_event(
                conn, project, seq, EventType.PROJECT_CREATED, user_id, cmd.op_id, data
            )
            outcome = Outcome(data["project"], seq)
            await record_outcome(conn, user_id, cmd, outcome)
        await self._writes.publish(event)
        return outcome

    async def list_projects(self, user_id: UUID, cmd: c.ListProjects) -> list[Project]:
        """All projects of the workspace; for guests only those they were added to."""
        async with self._pool.acquire() as conn:
            role = await workspace_access(conn, cmd.workspace_id, user_id, Action.PROJECT_LIST)
            return await visible_projects(conn, cmd.workspace_id, user_id, role)

    async def join_project(
        self, user_id: UUID, cmd: c.JoinProject, rooms: RoomMembership
    ) -> dict[str, Any]:
        """Enter the project's room, then answer with what the client needs to catch up.

        With ``since_seq`` within the replay window: exactly the missed events, in order
        (``mode: replay``). Otherwise a snapshot (``mode: snapshot``, or ``reset`` when the client
        asked for a replay it cannot have). Entering the room first means no event committed
        after the answer can be missed: the client drops events with ``seq`` at or below the
        answer's and applies the rest. Access is checked before entering and again inside the
        read; if it was revoked in between, the socket leaves the room again (ADR 0015).
        """
        async with self._pool.acquire() as conn:
            await project_access(conn, cmd.project_id, user_id, Action.PROJECT_READ)
            await rooms.enter(cmd.project_id)
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                try:
                    access, role = await project_access(
                        conn, cmd.project_id, user_id, Action.PROJECT_READ
                    )
                except BoardroomError:
                    await rooms.leave(cmd.project_id)
                    raise
                project = access.project
                if cmd.since_seq is not None:
                    missed = await self._missed(conn, project, cmd.since_seq)
                    if missed is not None:
                        return {
                            "mode": "replay",
                            "project_id": str(project.id),
                            "events": [e.as_dict() for e in missed],
                            "seq": project.last_seq,
                            "role": role.value,
                        }
                board = await tasks.list_for_project(conn, project.id)
                snapshot = BoardSnapshot(
                    project=project,
                    columns=await columns.list_for_project(conn, project.id),
                    tasks=board,
                    labels=await labels.list_for_project(conn, project.id),
                    assignments=_of(
                        board, await task_links.assignees.for_project(conn, project.id)
                    ),
                    task_labels=_of(
                        board, await task_links.task_labels.for_project(conn, project.id)
                    ),
                    seq=project.last_seq,
                )
                mode = "snapshot" if cmd.since_seq is None else "reset"
                return {"mode": mode, **snapshot.as_dict(), "role": role.value}

    async def _missed(
        self, conn: Connection, project: Project, since_seq: int
    ) -> list[ProjectEvent] | None:
        """The events after ``since_seq``, or None when they cannot be replayed exactly
        (more than the window, or a ``since_seq`` ahead of the project)."""
        count = project.last_seq - since_seq
        if count < 0 or count > self._replay_window:
            return None
        missed = await events.since(conn, project.id, since_seq, count)
        return missed if len(missed) == count else None

    # --- columns --------------------------------------------------------------------------

    async def readable_projects(self, user_id: UUID, project_ids: set[UUID]) -> set[UUID]:
        """Which of these projects ``user_id`` may still read (their live room is theirs)."""
        readable = set()
        async with self._pool.acquire() as conn:
            for project_id in project_ids:
                try:
                    await project_access(conn, project_id, user_id, Action.PROJECT_READ)
                except (NotFound, Forbidden):
                    continue
                readable.add(project_id)
        return readable

    async def create_column(self, user_id: UUID, cmd: c.CreateColumn) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            column_id = uuid.uuid4()
            placement = await place_after(
                conn, "columns", "project_id", project.id, cmd.after_id, Anchor.END, column_id
            )
            column = await columns.insert(conn, column_id, project.id, cmd.name, placement.key)
            row = column.as_dict()
            return with_rebalanced(
                Change(EventType.COLUMN_CREATED, {"column": row}, row), placement
            )

        return await self._writes.run(user_id, cmd, Action.COLUMN_WRITE, apply)

    async def rename_column(self, user_id: UUID, cmd: c.RenameColumn) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            found = await columns.get_versioned(conn, cmd.column_id, project.id)
            if found is None:
                raise missing("column", cmd.column_id, "column_id")
            current, versions = found
            changes = {"name": cmd.name}
            _check_conflicts("column", current.as_dict(), versions, cmd.base_version, changes)
            column = await columns.rename(
                conn,
                cmd.column_id,
                project.id,
                cmd.name,
                stamped(versions, changes, current.version + 1),
            )
            return _column_change(EventType.COLUMN_RENAMED, column, cmd.column_id)

        return await self._writes.run(user_id, cmd, Action.COLUMN_WRITE, apply)

    async def move_column(self, user_id: UUID, cmd: c.MoveColumn) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            if await columns.get(conn, cmd.column_id, project.id) is None:
                raise missing("column", cmd.column_id, "column_id")
            placement = await place_after(
                conn, "columns", "project_id", project.id, cmd.after_id, Anchor.START, cmd.column_id
            )
            column = await columns.move(conn, cmd.column_id, project.id, placement.key)
            change = _column_change(EventType.COLUMN_MOVED, column, cmd.column_id)
            return with_rebalanced(change, placement)

        return await self._writes.run(user_id, cmd, Action.COLUMN_WRITE, apply)

    async def delete_column(self, user_id: UUID, cmd: c.DeleteColumn) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            if not await columns.delete(conn, cmd.column_id, project.id):
                raise missing("column", cmd.column_id, "column_id")
            ids = {"column_id": str(cmd.column_id)}
            return Change(EventType.COLUMN_DELETED, ids, ids)

        return await self._writes.run(user_id, cmd, Action.COLUMN_WRITE, apply)

    # --- tasks ----------------------------------------------------------------------------

    async def create_task(self, user_id: UUID, cmd: c.CreateTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            await _open_column(conn, cmd.column_id, project.id)
            task_id = uuid.uuid4()
            placement = await place_after(
                conn, "tasks", "column_id", cmd.column_id, cmd.after_id, Anchor.END, task_id
            )
            task = await tasks.insert(
                conn,
                task_id,
                project.id,
                cmd.column_id,
                cmd.title,
                cmd.description,
                placement.key,
                user_id,
            )
            change = _task_change(EventType.TASK_CREATED, task, task_id)
            mentions = await readable_mentions(conn, project, cmd.description)
            change = Change(change.type, {**change.data, "mentions": mentions}, change.result)
            return with_rebalanced(change, placement)

        return await self._writes.run(user_id, cmd, Action.TASK_WRITE, apply)

    async def update_task(self, user_id: UUID, cmd: c.UpdateTask) -> Outcome:
        if not cmd.changes():
            raise InvalidPayload(
                "Name at least one field to change.",
                [
                    {
                        "field": "title",
                        "message": "title, description or due_at is required",
                        "type": "missing",
                    }
                ],
            )

        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            found = await tasks.get_versioned(conn, cmd.task_id, project.id)
            if found is None:
                raise missing("task", cmd.task_id, "task_id")
            current, versions = found
            changes = cmd.changes()
            _check_conflicts("task", current.as_dict(), versions, cmd.base_version, changes)
            task = await tasks.update(
                conn,
                cmd.task_id,
                project.id,
                changes,
                stamped(versions, changes, current.version + 1),
            )
            change = _task_change(EventType.TASK_UPDATED, task, cmd.task_id)
            if "description" in changes:
                mentions = await readable_mentions(conn, project, changes["description"])
                change = Change(change.type, {**change.data, "mentions": mentions}, change.result)
            return change

        return await self._writes.run(user_id, cmd, Action.TASK_WRITE, apply)

    async def move_task(self, user_id: UUID, cmd: c.MoveTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            if await tasks.get(conn, cmd.task_id, project.id) is None:
                raise missing("task", cmd.task_id, "task_id")
            await _open_column(conn, cmd.column_id, project.id)
            placement = await place_after(
                conn, "tasks", "column_id", cmd.column_id, cmd.after_id, Anchor.START, cmd.task_id
            )
            task = await tasks.move(conn, cmd.task_id, project.id, cmd.column_id, placement.key)
            change = _task_change(EventType.TASK_MOVED, task, cmd.task_id)
            return with_rebalanced(change, placement)

        return await self._writes.run(user_id, cmd, Action.TASK_WRITE, apply)

    async def delete_task(self, user_id: UUID, cmd: c.DeleteTask) -> Outcome:
        async def apply(conn: Connection, actor: Actor) -> Change:
            project = actor.project
            if not await tasks.delete(conn, cmd.task_id, project.id):
                raise missing("task", cmd.task_id, "task_id")
            ids = {"task_id": str(cmd.task_id)}
            return Change(EventType.TASK_DELETED, ids, ids)

        return await self._writes.run(user_id, cmd, Action.TASK_WRITE, apply)

    # --- the one write path ---------------------------------------------------------------


def _check_conflicts(
    kind: str,
    current: dict[str, Any],
    versions: dict[str, int],
    base_version: int,
    changes: dict[str, Any],
) -> None:
    """Refuse a change to fields that someone else changed after ``base_version``."""
    if base_version > current["version"]:
        raise InvalidPayload(
            f"base_version {base_version} is newer than the {kind} (version {current['version']}).",
            [
                {
                    "field": "base_version",
                    "message": "newer than the current version",
                    "type": "version_ahead",
                }
            ],
        )
    clashing = conflicting_fields(base_version, versions, current, changes)
    if clashing:
        raise Conflict(
            f"The {kind} was changed by someone else since version {base_version}: "
            + ", ".join(clashing),
            {"fields": clashing, "current": current},
        )


async def _open_column(conn: Connection, column_id: UUID, project_id: UUID) -> Column:
    """The column a task goes into: it must exist and not be archived."""
    column = await columns.get(conn, column_id, project_id)
    if column is None:
        raise missing("column", column_id, "column_id")
    if column.archived_at is not None:
        raise Conflict(
            "The column is archived; restore it first.",
            {"field": "column_id", "reason": "archived", "current": column.as_dict()},
        )
    return column


def _of(board: list[Task], links: list[dict[str, UUID]]) -> list[dict[str, UUID]]:
    """Only the links of tasks on the board (not of tasks hidden in archived columns)."""
    on_board = {task.id for task in board}
    return [link for link in links if link["task_id"] in on_board]


def _column_change(kind: EventType, column: Column | None, column_id: UUID) -> Change:
    if column is None:
        raise missing("column", column_id, "column_id")
    return Change(kind, {"column": column.as_dict()}, column.as_dict())


def _task_change(kind: EventType, task: Task | None, task_id: UUID) -> Change:
    if task is None:
        raise missing("task", task_id, "task_id")
    return Change(kind, {"task_id": str(task.id), "task": task.as_dict()}, task.as_dict())
