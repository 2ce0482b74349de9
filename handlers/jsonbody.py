"""JSON in and out of aiohttp with orjson."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from domain.commands import MAX_NESTING, too_deep
from domain.errors import InvalidPayload


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(body, default=str), status=status, content_type="application/json"
    )


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, or ``InvalidPayload`` saying what is wrong with it."""
    raw = await request.read()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidPayload(
            "The request body is not valid JSON.", [{"field": "(body)", "message": str(exc)}]
        ) from exc
    if too_deep(body):
        raise InvalidPayload(
            "The request body is nested too deeply.",
            [{"field": "(body)", "message": f"more than {MAX_NESTING} levels"}],
        )
    if not isinstance(body, dict):
        raise InvalidPayload(
            "The request body must be a JSON object.",
            [{"field": "(body)", "message": "expected an object"}],
        )
    return body
