"""Reads beyond the board snapshot: one task in full, activity history, full-text search.

History comes from the project event log (the same events clients receive live), newest first,
paged by ``seq``. Search covers only projects the caller may read: for a workspace search that
is every project for owners, admins and members, and only the projects guests were added to.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from application.access import project_access, visible_projects, workspace_access
from domain import commands as c
from domain.errors import NotFound
from domain.permissions import Action
from persistence import checklists, comments, events, search, task_links, tasks


class ReadService:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def get_task(self, user_id: UUID, cmd: c.GetTask) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            await project_access(conn, cmd.project_id, user_id, Action.PROJECT_HISTORY)
            task = await tasks.get(conn, cmd.task_id, cmd.project_id)
            if task is None:
                raise NotFound(
                    f"No task {cmd.task_id} in this project.",
                    {"field": "task_id", "id": str(cmd.task_id)},
                )
            return {
                "task": task.as_dict(),
                "assignee_ids": await task_links.assignees.for_task(conn, task.id),
                "watcher_ids": await task_links.watchers.for_task(conn, task.id),
                "label_ids": await task_links.task_labels.for_task(conn, task.id),
                "checklist": [i.as_dict() for i in await checklists.for_task(conn, task.id)],
                "comments": [m.as_dict() for m in await comments.for_task(conn, task.id)],
            }

    async def history(
        self, user_id: UUID, cmd: c.ProjectHistory, task_id: UUID | None = None
    ) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            await project_access(conn, cmd.project_id, user_id, Action.PROJECT_HISTORY)
            page = await events.history(conn, cmd.project_id, cmd.before_seq, cmd.limit, task_id)
        return {
            "events": [e.as_dict() for e in page],
            # Pass as before_seq for the next (older) page; null when this was the last one.
            "next_before_seq": page[-1].seq
            if len(page) == cmd.limit and page[-1].seq > 1
            else None,
        }

    async def task_history(self, user_id: UUID, cmd: c.TaskHistory) -> dict[str, Any]:
        return await self.history(user_id, cmd, task_id=cmd.task_id)

    async def search(self, user_id: UUID, cmd: c.Search) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            role = await workspace_access(conn, cmd.workspace_id, user_id, Action.SEARCH)
            if cmd.project_id is not None:
                access, _ = await project_access(conn, cmd.project_id, user_id, Action.PROJECT_READ)
                if access.project.workspace_id != cmd.workspace_id:
                    raise NotFound(
                        f"No project {cmd.project_id} in this workspace.",
                        {"field": "project_id", "id": str(cmd.project_id)},
                    )
                scope = [cmd.project_id]
            else:
                visible = await visible_projects(conn, cmd.workspace_id, user_id, role)
                scope = [p.id for p in visible]
            hits = await search.search(conn, scope, cmd.q, cmd.limit)
        return {"results": hits}
