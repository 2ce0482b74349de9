"""The outbox repository against the real database: pending order, marking, pruning."""

from __future__ import annotations

import uuid
from datetime import timedelta

from persistence import outbox
from persistence.db import connect


async def test_published_rows_are_pruned_after_retention_and_pending_ones_never(services):
    db = await connect(services.database_url)
    try:
        await _check_pruning(db)
    finally:
        await db.close()


async def _check_pruning(db) -> None:
    ids = []
    async with db.transaction():
        for n in range(3):
            event_id = uuid.uuid4()
            await outbox.add(db, event_id, "project-events", "k", {"n": n})
            ids.append(event_id)
    rows = [r for r in await outbox.pending(db, 10_000) if r.event_id in ids]
    assert [r.payload["n"] for r in rows] == [0, 1, 2]  # commit-id order
    await outbox.mark_published(db, [rows[0].id, rows[1].id])
    assert await outbox.prune(db, timedelta(hours=1)) == 0  # published just now: kept
    assert await outbox.prune(db, timedelta(0)) >= 2
    left = await db.fetch("SELECT event_id FROM outbox WHERE event_id = ANY($1::uuid[])", ids)
    assert [r["event_id"] for r in left] == [ids[2]]
    backlog = await outbox.backlog(db)
    assert backlog.count >= 1 and backlog.oldest_age_seconds >= 0
