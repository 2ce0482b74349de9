"""The request being served, for the records it causes (audit origin, correlation id).

Handlers set it once per REST request or Socket.IO event; the application layer reads it when
it writes an integration event. A context variable keeps it out of every service signature and
follows the request across awaits without leaking into other requests' tasks.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass

from domain.integration import Origin


@dataclass(frozen=True, slots=True)
class RequestContext:
    origin: Origin
    correlation_id: str
    # What structured logs add to every line written while serving this request.
    log_fields: tuple[tuple[str, str], ...] = ()


_current: ContextVar[RequestContext | None] = ContextVar("boardroom_request", default=None)


def set_request(
    origin: Origin, correlation_id: str | None = None, **log_fields: object
) -> RequestContext:
    """Make this the current request for the running task (and tasks it starts).
    ``log_fields`` (sid, user, event, op_id, project...) are added to its log lines."""
    fields = tuple((k, str(v)) for k, v in log_fields.items() if v is not None)
    context = RequestContext(origin, correlation_id or uuid.uuid4().hex, fields)
    _current.set(context)
    return context


def current_log_fields() -> dict[str, str]:
    """The correlation fields of the request being served, if any."""
    context = _current.get()
    if context is None:
        return {}
    return {"correlation_id": context.correlation_id, **dict(context.log_fields)}


def current_request() -> RequestContext:
    """The current request, or an anonymous one (work started by no client)."""
    context = _current.get()
    if context is None:
        return RequestContext(Origin(), uuid.uuid4().hex)
    return context
