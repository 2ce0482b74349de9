"""Bulk export of a project or a whole workspace, streamed (issue 6, item 4).

Access is checked and the export recorded as a security event first; then everything is read
in one repeatable-read, read-only transaction (a consistent picture even while people edit) and
handed out task by task, so memory does not grow with the project.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from application import integration_events
from application.access import project_access, visible_projects, workspace_access
from domain import commands as c
from domain.integration import SecurityEventType
from domain.models import Project
from domain.permissions import Action
from persistence import columns, export, labels
from persistence.db import Connection


@dataclass(frozen=True, slots=True)
class ProjectPart:
    """One project of an export: its header (project, columns, labels) and its tasks."""

    header: dict[str, Any]
    tasks: AsyncIterator[dict[str, Any]]


class ExportService:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def project(self, user_id: UUID, cmd: c.ExportProject) -> AsyncIterator[ProjectPart]:
        async with self._pool.acquire() as conn, conn.transaction():
            access, _ = await project_access(conn, cmd.project_id, user_id, Action.PROJECT_EXPORT)
            project = access.project
            await integration_events.security_event(
                conn,
                SecurityEventType.PROJECT_EXPORTED,
                actor_id=user_id,
                workspace_id=project.workspace_id,
                project_id=project.id,
                data={"project_id": str(project.id), "format": cmd.format},
            )
        return self._parts([project])

    async def workspace(
        self, user_id: UUID, cmd: c.ExportWorkspace
    ) -> tuple[dict[str, Any], AsyncIterator[ProjectPart]]:
        async with self._pool.acquire() as conn, conn.transaction():
            role = await workspace_access(conn, cmd.workspace_id, user_id, Action.WORKSPACE_EXPORT)
            found = await visible_projects(conn, cmd.workspace_id, user_id, role)
            await integration_events.security_event(
                conn,
                SecurityEventType.WORKSPACE_EXPORTED,
                actor_id=user_id,
                workspace_id=cmd.workspace_id,
                data={"format": cmd.format, "projects": len(found)},
            )
        return {"workspace_id": str(cmd.workspace_id)}, self._parts(found)

    async def _parts(self, found: list[Project]) -> AsyncIterator[ProjectPart]:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            for project in found:
                yield ProjectPart(await _header(conn, project), export.tasks(conn, project.id))


async def _header(conn: Connection, project: Project) -> dict[str, Any]:
    return {
        "project": project.as_dict(),
        "columns": [
            column.as_dict() for column in await columns.list_for_project(conn, project.id)
        ],
        "labels": [label.as_dict() for label in await labels.list_for_project(conn, project.id)],
    }
