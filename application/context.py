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


_current: ContextVar[RequestContext | None] = ContextVar("boardroom_request", default=None)


def set_request(origin: Origin, correlation_id: str | None = None) -> RequestContext:
    """Make this the current request for the running task (and tasks it starts)."""
    context = RequestContext(origin, correlation_id or uuid.uuid4().hex)
    _current.set(context)
    return context


def current_request() -> RequestContext:
    """The current request, or an anonymous one (work started by no client)."""
    context = _current.get()
    if context is None:
        return RequestContext(Origin(), uuid.uuid4().hex)
    return context
