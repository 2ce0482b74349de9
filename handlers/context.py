"""Who is calling, for the records a request causes (application.context)."""

from __future__ import annotations

import logging
import re
import time
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from aiohttp import web
from opentelemetry import trace

from application import tracing
from application.context import set_request
from domain.integration import Origin
from handlers.observe import RECORDER

log = logging.getLogger("boardroom.access")

REQUEST_ID_HEADER = "X-Request-ID"
ENGINEIO_PATH = "/socket.io/"
_TRACE_HEADERS = ("traceparent", "tracestate")  # W3C Trace Context, read case-insensitively
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


CORRELATION_ID: web.RequestKey[str] = web.RequestKey("correlation_id", str)


def client_ip(remote: str | None) -> str | None:
    """The peer address as the server sees it (behind a load balancer: the balancer's).

    X-Forwarded-For is not trusted here: any client can send it. Operators who need the
    original address read it from the load balancer's access log.
    """
    return remote[:64] if remote else None


@web.middleware
async def request_context_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Give every REST request an origin, a correlation id (the caller's X-Request-ID when
    it is sane, else a new one, echoed in the response) and a span; then record it."""
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    context = set_request(
        Origin(
            transport="rest",
            ip=client_ip(request.remote),
            user_agent=request.headers.get("User-Agent", "")[:512] or None,
        ),
        offered if _SANE_ID.match(offered) else None,
    )
    request[CORRELATION_ID] = context.correlation_id
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "(unmatched)"
    started = time.perf_counter()
    status = 500
    with _request_span(request, route, context.correlation_id) as span:
        try:
            response: web.StreamResponse = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(trace.StatusCode.ERROR, str(status))
            _record(request, route, status, time.perf_counter() - started)


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the correlation id goes out with the headers, also on
    responses a handler starts streaming itself (downloads)."""
    correlation_id = request.get(CORRELATION_ID)
    if correlation_id is not None:
        response.headers.setdefault(REQUEST_ID_HEADER, correlation_id)


def _request_span(
    request: web.Request, route: str, correlation_id: str
) -> AbstractContextManager[trace.Span]:
    """A span per request, in a trace of its own: a caller's ``traceparent`` is linked, not
    adopted, so no client outside decides what we sample or joins our traces (ADR 0028).
    Socket.IO's own transport requests get none; each event has its own span instead."""
    if request.path.startswith(ENGINEIO_PATH):
        return nullcontext(trace.INVALID_SPAN)
    offered = {k: request.headers[k] for k in _TRACE_HEADERS if k in request.headers}
    caller = trace.get_current_span(tracing.context_from(offered)).get_span_context()
    return tracing.span(
        f"{request.method} {route}",
        context=tracing.NEW_TRACE,
        kind=trace.SpanKind.SERVER,
        links=[trace.Link(caller)] if caller.is_valid else None,
        attributes={
            "http.request.method": request.method,
            "http.route": route,
            "url.path": request.path,
            "boardroom.correlation_id": correlation_id,
        },
    )


def _record(request: web.Request, route: str, status: int, seconds: float) -> None:
    """Metrics, and the access log: method, path (never the query string), status, duration."""
    recorder = request.app.get(RECORDER)
    if recorder is not None:
        recorder.http_request(route, request.method, status, seconds)
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
