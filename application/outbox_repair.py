"""Re-publishing a range of the outbox: the repair for events that left but never arrived
(a broker that lost messages, a consumer positioned past them). ADR 0039."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import asyncpg

from persistence import outbox

log = logging.getLogger(__name__)


class OutboxRepair:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def republish(self, first_id: int, last_id: int) -> int:
        """Have the relay publish rows ``first_id``..``last_id`` again (those the outbox still
        keeps); the count. Every consumer dedupes by event id, so this is safe to repeat."""
        async with self._pool.acquire() as conn:
            marked = await outbox.republish(conn, first_id, last_id)
        log.warning("outbox rows %d-%d marked for re-publication: %d", first_id, last_id, marked)
        return marked


def contiguous_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """``[3, 4, 5, 9]`` -> ``[(3, 5), (9, 9)]``: the ranges an operator re-publishes."""
    ranges: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if ranges and ranges[-1][1] == i - 1:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    return ranges
