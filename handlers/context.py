"""Who is calling, for the records a request causes (application.context)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from aiohttp import web

from application.context import set_request
from domain.integration import Origin
from handlers.observe import RECORDER

log = logging.getLogger("boardroom.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def client_ip(remote: str | None) -> str | None:
    """The peer address as the server sees it (behind a load balancer: the balancer's).

    X-Forwarded-For is not trusted here: any client can send it. Operators who need the
    original address read it from the load balancer's access log.
    """
    return remote[:64] if remote else None


@web.middleware
async def request_context_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Give every REST request an origin and a correlation id (the caller's X-Request-ID when
    it is sane, else a new one), echoed in the response."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    context = set_request(
        Origin(
            transport="rest",
            ip=client_ip(request.remote),
            user_agent=request.headers.get("User-Agent", "")[:512] or None,
        ),
        offered if _SANE_ID.match(offered) else None,
    )
    started = time.perf_counter()
    status = 500
    try:
        response: web.StreamResponse = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = context.correlation_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        seconds = time.perf_counter() - started
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "(unmatched)"
        recorder = request.app.get(RECORDER)
        if recorder is not None:
            recorder.http_request(route, request.method, status, seconds)
        # The access log: method, path (never the query string), status, duration.
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "http_method": request.method,
                "path": request.path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
            },
        )
