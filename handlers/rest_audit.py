"""REST: a workspace's audit trail, paginated and exported (docs/protocol.md, "REST")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web

from application.audit_service import AuditService
from domain.commands import AuditExport, AuditQuery
from handlers.bearer import authenticated_user
from handlers.downloads import csv_chunks, send_download
from handlers.jsonbody import json_response

AUDIT_SERVICE: web.AppKey[AuditService] = web.AppKey("audit_service", AuditService)

CSV_COLUMNS = (
    "seq",
    "event_id",
    "occurred_at",
    "recorded_at",
    "kind",
    "type",
    "outcome",
    "actor_id",
    "project_id",
    "correlation_id",
    "origin",
    "data",
)


def _params(request: web.Request) -> dict[str, Any]:
    return {**request.query, "workspace_id": request.match_info["workspace_id"]}


async def list_audit(request: web.Request) -> web.Response:
    user_id = await authenticated_user(request)
    cmd = AuditQuery.model_validate(_params(request))
    return json_response(await request.app[AUDIT_SERVICE].page(user_id, cmd))


async def export_audit(request: web.Request) -> web.StreamResponse:
    """Stream every matching entry (oldest first) as a JSON array or CSV: memory stays flat
    however long the trail is."""
    user_id = await authenticated_user(request)
    cmd = AuditExport.model_validate(_params(request))
    entries = await request.app[AUDIT_SERVICE].export(user_id, cmd)
    chunks = csv_chunks(CSV_COLUMNS, _csv_rows(entries)) if cmd.format == "csv" else _json(entries)
    return await send_download(
        request, f"audit-{cmd.workspace_id}.{cmd.format}", cmd.format, chunks
    )


async def _json(entries: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    yield b"["
    first = True
    async for entry in entries:
        yield (b"\n" if first else b",\n") + orjson.dumps(entry, default=str)
        first = False
    yield b"\n]\n"


async def _csv_rows(entries: AsyncIterator[dict[str, Any]]) -> AsyncIterator[list[str]]:
    async for entry in entries:
        yield [
            orjson.dumps(entry[c], default=str).decode()
            if isinstance(entry[c], dict)
            else ("" if entry[c] is None else str(entry[c]))
            for c in CSV_COLUMNS
        ]
