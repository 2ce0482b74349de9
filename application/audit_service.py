"""The audit trail: append integration events to their workspace's hash chain, verify it.

Appends are idempotent by ``event_id``: the relay and Kafka deliver at least once, so the
same event may arrive again after a crash, and it is recorded once (ADR 0018).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from application import integration_events
from application.access import workspace_access
from domain import commands as c
from domain.audit_chain import GENESIS, Problem, link, verify_chain
from domain.integration import IntegrationEvent, SecurityEventType
from domain.permissions import Action
from persistence import audit, audit_coverage
from persistence.audit_coverage import Arrears, Unrecorded


class AuditService:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, event: IntegrationEvent) -> bool:
        """Append ``event`` to its chain; False when it was already recorded."""
        async with self._pool.acquire() as conn, conn.transaction():
            # Lock the head first: a concurrent duplicate then waits here and sees the row.
            last_seq, last_hash = await audit.lock_head(conn, event.chain_id, GENESIS)
            if await audit.contains(conn, event.event_id):
                return False
            row: dict[str, Any] = {
                "chain_id": event.chain_id,
                "seq": last_seq + 1,
                "event_id": event.event_id,
                "kind": event.kind,
                "type": event.type,
                "occurred_at": event.at,
                "recorded_at": datetime.now(UTC),
                "actor_id": event.actor_id,
                "workspace_id": event.workspace_id,
                "project_id": event.project_id,
                "outcome": event.outcome,
                "origin": event.origin.model_dump(mode="json", exclude_none=True),
                "correlation_id": event.correlation_id,
                "data": _audited_data(event),
                "prev_hash": last_hash,
            }
            row["hash"] = link(last_hash, row)
            await audit.append(conn, row)
        return True

    async def verify(self) -> tuple[int, list[Problem]]:
        """Recompute every chain in one consistent snapshot: (rows checked, problems)."""
        problems: list[Problem] = []
        checked = 0
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            heads = await audit.heads(conn)
            for chain_id in await audit.chain_ids(conn):
                rows = [row async for row in audit.rows(conn, chain_id)]
                checked += len(rows)
                problems += verify_chain(chain_id, rows, heads.get(chain_id))
        return checked, problems

    async def unrecorded(self, older_than: timedelta) -> list[Unrecorded]:
        """Committed events older than ``older_than`` that the trail lacks (completeness: the
        chain check above cannot see an event that never arrived)."""
        async with self._pool.acquire() as conn:
            return await audit_coverage.unrecorded(conn, older_than)

    async def arrears(self, older_than: timedelta, window: timedelta) -> Arrears:
        """Published events of the last ``window`` still unrecorded after ``older_than``: how
        far the audit agent is behind the relay (the worker's stall watch)."""
        async with self._pool.acquire() as conn:
            return await audit_coverage.recently_published_unrecorded(conn, older_than, window)

    # --- reading the trail (workspace owners and admins) --------------------------------------

    async def page(self, user_id: UUID, cmd: c.AuditQuery) -> dict[str, Any]:
        """Newest first; ``next_before_seq`` pages further back (None at the start)."""
        async with self._pool.acquire() as conn:
            await workspace_access(conn, cmd.workspace_id, user_id, Action.AUDIT_READ)
            entries = await audit.page(conn, _filters(cmd), cmd.limit)
        more = len(entries) == cmd.limit and entries[-1]["seq"] > 1
        return {
            "entries": entries,
            "next_before_seq": entries[-1]["seq"] if more else None,
        }

    async def export(self, user_id: UUID, cmd: c.AuditExport) -> AsyncIterator[dict[str, Any]]:
        """Check access and record the export (a security event) before the first row; then
        every matching entry, oldest first, from one consistent snapshot."""
        async with self._pool.acquire() as conn, conn.transaction():
            await workspace_access(conn, cmd.workspace_id, user_id, Action.AUDIT_EXPORT)
            await integration_events.security_event(
                conn,
                SecurityEventType.AUDIT_EXPORTED,
                actor_id=user_id,
                workspace_id=cmd.workspace_id,
                data=cmd.model_dump(mode="json", exclude={"workspace_id", "limit"}),
            )
        return self._stream(_filters(cmd))

    async def _stream(self, filters: audit.Filters) -> AsyncIterator[dict[str, Any]]:
        async with (
            self._pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            async for entry in audit.stream(conn, filters):
                yield entry


def _filters(cmd: c.AuditQuery) -> audit.Filters:
    return audit.Filters(
        chain_id=cmd.workspace_id,
        actor_id=cmd.actor_id,
        event_type=cmd.type,
        since=cmd.since,
        until=cmd.until,
        before_seq=cmd.before_seq,
    )


def _audited_data(event: IntegrationEvent) -> dict[str, Any]:
    """What the trail keeps of the event's data, plus the project ``seq`` and op when known."""
    data = dict(event.data)
    if event.seq is not None:
        data = {"seq": event.seq, **data}
    if event.op_id is not None:
        data = {"op_id": event.op_id, **data}
    return data
