"""REST: bulk export of a project or a workspace as streamed JSON or CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from application.export_service import ExportService, ProjectPart
from domain.commands import ExportProject, ExportWorkspace
from handlers.bearer import authenticated_user
from persistence.export import TASK_FIELDS

EXPORT_SERVICE: web.AppKey[ExportService] = web.AppKey("export_service", ExportService)

CSV_FIELDS = ("project_id", "project_name", *TASK_FIELDS)
_FLUSH_BYTES = 64 * 1024


async def export_project(request: web.Request) -> web.StreamResponse:
    user_id = await authenticated_user(request)
    cmd = ExportProject.model_validate(
        {**request.query, "project_id": request.match_info["project_id"]}
    )
    parts = await request.app[EXPORT_SERVICE].project(user_id, cmd)
    return await _send(request, f"project-{cmd.project_id}", cmd.format, {}, parts)


async def export_workspace(request: web.Request) -> web.StreamResponse:
    user_id = await authenticated_user(request)
    cmd = ExportWorkspace.model_validate(
        {**request.query, "workspace_id": request.match_info["workspace_id"]}
    )
    head, parts = await request.app[EXPORT_SERVICE].workspace(user_id, cmd)
    return await _send(request, f"workspace-{cmd.workspace_id}", cmd.format, head, parts)


async def _send(
    request: web.Request,
    name: str,
    fmt: str,
    head: dict[str, Any],
    parts: AsyncIterator[ProjectPart],
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/json",
            "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
        }
    )
    await response.prepare(request)
    chunks = _csv(parts) if fmt == "csv" else _json(head, parts)
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) >= _FLUSH_BYTES:
            await response.write(bytes(buffer))
            buffer.clear()
    await response.write(bytes(buffer))
    await response.write_eof()
    return response


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


async def _csv(parts: AsyncIterator[ProjectPart]) -> AsyncIterator[bytes]:
    """One row per task, with its project; lists are semicolon-separated ids."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    async for part in parts:
        project = part.header["project"]
        async for task in part.tasks:
            writer.writerow(
                [project["id"], project["name"]] + [_cell(task[field]) for field in TASK_FIELDS]
            )
            if out.tell() >= _FLUSH_BYTES:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
    yield out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)
