"""Committed integration events that have no audit entry (ADR 0039).

The hash chain proves that recorded entries were not edited; these queries prove that every
event that should have been recorded was. Project events are checked against the project
event log, which is kept for ever; security events exist only as outbox rows, so they are
checked for as long as the outbox keeps them (``BOARDROOM_OUTBOX_RETENTION_HOURS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

from persistence.db import Connection

# Constant texts: every value is a parameter. The JSON fields and anti-joins are clearer in
# SQL than in pypika.
_UNRECORDED_PROJECT_EVENTS = """
SELECT e.project_id, e.seq, e.type, e.at, o.id AS outbox_id, o.event_id
FROM project_events e
LEFT JOIN outbox o
  ON o.topic = 'project-events'
 AND (o.payload->>'project_id')::uuid = e.project_id
 AND (o.payload->>'seq')::bigint = e.seq
WHERE e.at < now() - $1::interval
  -- migration 0005 made the outbox and the audit log: older events were never audited
  AND e.at >= (SELECT applied_at FROM schema_migrations WHERE version = 5)
  AND NOT EXISTS (
      SELECT 1 FROM audit_log a
      WHERE a.kind = 'project' AND a.project_id = e.project_id
        AND (a.data->>'seq')::bigint = e.seq)
ORDER BY e.at, e.project_id, e.seq
"""
_UNRECORDED_SECURITY_EVENTS = """
SELECT o.id AS outbox_id, o.event_id, o.payload->>'type' AS type, o.created_at AS at
FROM outbox o
WHERE o.topic = 'security-events'
  AND o.created_at < now() - $1::interval
  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)
ORDER BY o.id
"""
_RECENTLY_PUBLISHED_UNRECORDED = """
SELECT count(*) AS n, extract(epoch FROM now() - min(o.published_at)) AS oldest
FROM outbox o
WHERE o.published_at > now() - $2::interval
  AND o.published_at <= now() - $1::interval
  AND NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)
"""


@dataclass(frozen=True, slots=True)
class Unrecorded:
    """A committed event with no audit entry; ``outbox_id`` is None once the outbox has
    pruned its row (it can then no longer be re-published)."""

    kind: Literal["project", "security"]
    type: str
    at: datetime
    outbox_id: int | None
    event_id: UUID | None
    project_id: UUID | None = None
    seq: int | None = None

    def describe(self) -> str:
        where = f"project {self.project_id} seq {self.seq}" if self.kind == "project" else "-"
        row = f"outbox id {self.outbox_id}" if self.outbox_id is not None else "outbox row pruned"
        return f"{self.kind} event {self.type} at {self.at.isoformat()} ({where}; {row})"


async def unrecorded(conn: Connection, older_than: timedelta) -> list[Unrecorded]:
    """Every event committed more than ``older_than`` ago that the audit log lacks."""
    found = [
        Unrecorded(
            "project", r["type"], r["at"], r["outbox_id"], r["event_id"], r["project_id"], r["seq"]
        )
        for r in await conn.fetch(_UNRECORDED_PROJECT_EVENTS, older_than)
    ]
    found += [
        Unrecorded("security", r["type"], r["at"], r["outbox_id"], r["event_id"])
        for r in await conn.fetch(_UNRECORDED_SECURITY_EVENTS, older_than)
    ]
    return found


@dataclass(frozen=True, slots=True)
class Arrears:
    """Events the relay published in the watched window that the audit log lacks."""

    count: int
    oldest_seconds: float


async def recently_published_unrecorded(
    conn: Connection, older_than: timedelta, window: timedelta
) -> Arrears:
    """Events published between ``window`` and ``older_than`` ago with no audit entry: the
    index on ``published_at`` keeps this cheap enough to ask every few seconds."""
    row = await conn.fetchrow(_RECENTLY_PUBLISHED_UNRECORDED, older_than, window)
    assert row is not None
    return Arrears(int(row["n"]), float(row["oldest"] or 0.0))
