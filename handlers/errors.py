"""The one translation of errors to the wire: Socket.IO acks and REST responses."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from domain.errors import BoardroomError, InternalError, InvalidPayload, Unavailable
from handlers.jsonbody import json_response
from persistence.errors import database_unavailable

UNAVAILABLE_RETRY_AFTER = 2  # seconds a client should wait before retrying after `unavailable`

log = logging.getLogger(__name__)

HTTP_STATUS = {
    "invalid_payload": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal": 500,
    "unavailable": 503,
}

# The error object of the wire contract as a JSON schema (for the API descriptions).
ERROR_OBJECT_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "enum": sorted(HTTP_STATUS)},
        "message": {"type": "string"},
        "details": {},
    },
}


def invalid_payload(exc: ValidationError) -> InvalidPayload:
    """One entry per offending field, named by its dotted path."""
    fields = [
        {
            "field": ".".join(str(part) for part in err["loc"]) or "(payload)",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]
    return InvalidPayload("The payload is invalid.", fields)


def as_boardroom_error(exc: Exception) -> BoardroomError:
    if isinstance(exc, BoardroomError):
        return exc
    if isinstance(exc, ValidationError):
        return invalid_payload(exc)
    if database_unavailable(exc):
        log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return Unavailable(
            "The service cannot reach its database right now; nothing was changed. "
            "Try again shortly.",
            UNAVAILABLE_RETRY_AFTER,
        )
    log.exception("unhandled error", exc_info=exc)
    return InternalError("Something went wrong on our side; it has been logged.")


def error_ack(exc: Exception) -> dict[str, Any]:
    return {"ok": False, "error": as_boardroom_error(exc).to_dict()}


def error_response(exc: Exception) -> web.Response:
    error = as_boardroom_error(exc)
    response = json_response({"error": error.to_dict()}, status=HTTP_STATUS[error.code])
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        response.headers["Retry-After"] = str(max(1, round(retry_after)))
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPRequestEntityTooLarge:
        return json_response(
            {"error": {"code": "payload_too_large", "message": "The request body is too large."}},
            status=413,
        )
    except web.HTTPException:
        raise
    except Exception as exc:
        if request.writer.output_size > 0:
            # A download failed after its headers and part of its body went out: a second
            # response written into that body would corrupt it. aiohttp closes the connection
            # instead, so the client sees a transfer that did not complete.
            log.error("a streamed response failed after it began; closing the connection")
            raise
        return error_response(exc)
