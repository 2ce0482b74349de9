"""The one write path of every project change (ADR 0005).

check the op (idempotency) -> check access against the permission table -> take the project's
next ``seq`` (row-locks the project, serializing its writers) -> apply the change -> append the
event -> record the answer with the op -> commit -> publish. A failure anywhere before the
commit rolls everything back, the ``seq`` increment included, so the log stays gapless and
nothing is published.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg

from application import integration_events
from application.access import project_access
from application.outcomes import Outcome, claim_op, record_outcome
from application.ports import EventPublisher
from domain import commands as c
from domain.events import EventType
from domain.models import Project, ProjectEvent
from domain.permissions import Action, ProjectRole
from persistence import events, projects
from persistence.db import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """What a mutation did: the event to record and the result to answer with."""

    type: EventType
    data: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is changing which project, with which effective role."""

    user_id: UUID
    project: Project
    role: ProjectRole


Apply = Callable[[Connection, Actor], Awaitable[Change]]


async def append_event(
    conn: Connection,
    project: Project,
    seq: int,
    event_type: EventType,
    actor_id: UUID,
    op_id: str,
    data: dict[str, Any],
) -> ProjectEvent:
    """Append to the project's event log and to the outbox, in the caller's transaction."""
    event = await events.append(conn, project.id, seq, event_type, actor_id, op_id, data)
    await integration_events.project_event(conn, event, project.workspace_id)
    return event


class ProjectWrites:
    def __init__(self, pool: asyncpg.Pool, publisher: EventPublisher) -> None:
        self._pool = pool
        self._publisher = publisher

    async def run(
        self, user_id: UUID, cmd: c.ProjectMutation, action: Action, apply: Apply
    ) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            access, role = await project_access(conn, cmd.project_id, user_id, action)
            project = access.project
            seq = await projects.next_seq(conn, project.id)
            change = await apply(conn, Actor(user_id, project, role))
            event = await append_event(
                conn, project, seq, change.type, user_id, cmd.op_id, change.data
            )
            outcome = Outcome(change.result, seq)
            await record_outcome(conn, user_id, cmd, outcome)
        await self.publish(event)
        return outcome

    async def publish(self, event: ProjectEvent) -> None:
        """Broadcast a committed event. A failure here must not turn the ack into an error:
        the change is committed and logged with its ``seq``, which is where clients catch up."""
        try:
            await self._publisher.publish(event)
        except Exception:
            log.exception(
                "broadcast failed after commit (project %s, seq %s)", event.project_id, event.seq
            )
