"""Writing integration events to the outbox, inside the caller's transaction (ADR 0017).

The only way events leave for Kafka: a row here commits with the change it records or not at
all, and the relay publishes it afterwards.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from application import tracing
from application.context import current_request
from domain.integration import IntegrationEvent, SecurityEventType
from domain.models import ProjectEvent
from domain.notification_rules import NOTIFIES_WATCHERS, task_of
from persistence import outbox, task_links
from persistence.db import Connection


async def write(conn: Connection, event: IntegrationEvent) -> None:
    await outbox.add(
        conn,
        event.event_id,
        event.topic.value,
        event.key,
        event.model_dump(mode="json"),
        tracing.capture(),
    )


async def project_event(conn: Connection, event: ProjectEvent, workspace_id: UUID) -> None:
    request = current_request()
    await write(
        conn,
        IntegrationEvent.for_project_event(
            event, workspace_id, request.origin, request.correlation_id, await _context(conn, event)
        ),
    )


async def _context(conn: Connection, event: ProjectEvent) -> dict[str, Any]:
    """The task's watchers as of this commit, for events that notify them: read later, by the
    worker, they would depend on how far behind it runs."""
    if event.type not in NOTIFIES_WATCHERS:
        return {}
    task_id = task_of(event.data)
    if task_id is None:
        return {}
    return {"watchers": [str(u) for u in await task_links.watchers.for_task(conn, task_id)]}


async def security_event(
    conn: Connection,
    event_type: SecurityEventType,
    *,
    actor_id: UUID | None,
    workspace_id: UUID | None,
    data: dict[str, Any],
    outcome: Literal["success", "failure"] = "success",
    project_id: UUID | None = None,
    op_id: str | None = None,
) -> None:
    request = current_request()
    await write(
        conn,
        IntegrationEvent.security(
            event_type,
            actor_id=actor_id,
            workspace_id=workspace_id,
            origin=request.origin,
            correlation_id=request.correlation_id,
            data=data,
            outcome=outcome,
            project_id=project_id,
            op_id=op_id,
        ),
    )
