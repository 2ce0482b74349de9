"""REST: bulk export of a project or a workspace as streamed JSON or CSV."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import orjson
from aiohttp import web

from application.export_service import ExportService, ProjectPart
from domain.commands import ExportProject, ExportWorkspace
from handlers.bearer import authenticated_user
from handlers.downloads import csv_chunks, send_download
from persistence.export import TASK_FIELDS

EXPORT_SERVICE: web.AppKey[ExportService] = web.AppKey("export_service", ExportService)

CSV_FIELDS = ("project_id", "project_name", *TASK_FIELDS)


async def export_project(request: web.Request) -> web.StreamResponse:
    user_id = await authenticated_user(request)
    cmd = ExportProject.model_validate(
        {**request.query, "project_id": request.match_info["project_id"]}
    )
    parts = await request.app[EXPORT_SERVICE].project(user_id, cmd)
    return await _send(request, f"project-{cmd.project_id}.{cmd.format}", cmd.format, {}, parts)


async def export_workspace(request: web.Request) -> web.StreamResponse:
    user_id = await authenticated_user(request)
    cmd = ExportWorkspace.model_validate(
        {**request.query, "workspace_id": request.match_info["workspace_id"]}
    )
    head, parts = await request.app[EXPORT_SERVICE].workspace(user_id, cmd)
    return await _send(
        request, f"workspace-{cmd.workspace_id}.{cmd.format}", cmd.format, head, parts
    )


def _send(
    request: web.Request,
    filename: str,
    fmt: str,
    head: dict[str, Any],
    parts: AsyncIterator[ProjectPart],
) -> Awaitable[web.StreamResponse]:
    chunks = csv_chunks(CSV_FIELDS, _csv_rows(parts)) if fmt == "csv" else _json(head, parts)
    return send_download(request, filename, fmt, chunks)


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=str)


async def _json(head: dict[str, Any], parts: AsyncIterator[ProjectPart]) -> AsyncIterator[bytes]:
    """``{...head, "projects": [{project, columns, labels, tasks: [...]}, ...]}``."""
    yield _dumps(head)[:-1] + b', "projects": [' if head else b'{"projects": ['

    first_part = True
    async for part in parts:
        yield (b"" if first_part else b",") + _dumps(part.header)[:-1] + b', "tasks": ['
        first_part = False
        first_task = True
        async for task in part.tasks:
            yield (b"\n" if first_task else b",\n") + _dumps(task)
            first_task = False
        yield b"]}"
    yield b"]}\n"


async def _csv_rows(parts: AsyncIterator[ProjectPart]) -> AsyncIterator[list[str]]:
    """One row per task, with its project; lists are semicolon-separated ids."""
    async for part in parts:
        project = part.header["project"]
        async for task in part.tasks:
            yield [project["id"], project["name"]] + [_cell(task[f]) for f in TASK_FIELDS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
