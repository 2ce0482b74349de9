"""The append-only, hash-chained audit log (ADR 0018)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from pypika import Order

from persistence.db import Connection
from persistence.sql import Query, audit_heads, audit_log, p

a = audit_log
h = audit_heads

COLUMNS = (
    "chain_id",
    "seq",
    "event_id",
    "kind",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "workspace_id",
    "project_id",
    "outcome",
    "origin",
    "correlation_id",
    "data",
    "prev_hash",
    "hash",
)

_EXISTS = str(Query.from_(a).select(a.seq).where(a.event_id == p(1)))
_OPEN_HEAD = str(
    Query.into(h)
    .columns(h.chain_id, h.seq, h.hash)
    .insert(p(1), 0, p(2))
    .on_conflict(h.chain_id)
    .do_nothing()
)
_LOCK_HEAD = str(Query.from_(h).select(h.seq, h.hash).where(h.chain_id == p(1)).for_update())
_APPEND = str(Query.into(a).columns(*COLUMNS).insert(*(p(i + 1) for i in range(len(COLUMNS)))))
_MOVE_HEAD = str(Query.update(h).set(h.seq, p(2)).set(h.hash, p(3)).where(h.chain_id == p(1)))
_CHAINS = str(Query.from_(h).select(h.chain_id, h.seq, h.hash).orderby(h.chain_id))
_CHAIN_IDS = "SELECT chain_id FROM audit_heads UNION SELECT DISTINCT chain_id FROM audit_log"
_ROWS = str(
    Query.from_(a).select(*COLUMNS).where(a.chain_id == p(1)).orderby(a.seq, order=Order.asc)
)


async def lock_head(conn: Connection, chain_id: UUID, genesis: bytes) -> tuple[int, bytes]:
    """The chain's last (seq, hash), row-locked until commit: appends to a chain queue here."""
    await conn.execute(_OPEN_HEAD, chain_id, genesis)
    row = await conn.fetchrow(_LOCK_HEAD, chain_id)
    assert row is not None
    return int(row["seq"]), bytes(row["hash"])


async def contains(conn: Connection, event_id: UUID) -> bool:
    return await conn.fetchval(_EXISTS, event_id) is not None


async def append(conn: Connection, row: dict[str, Any]) -> None:
    """Insert a row (already hashed) and move its chain's head to it."""
    await conn.execute(_APPEND, *(row[name] for name in COLUMNS))
    await conn.execute(_MOVE_HEAD, row["chain_id"], row["seq"], row["hash"])


async def heads(conn: Connection) -> dict[UUID, tuple[int, bytes]]:
    return {r["chain_id"]: (int(r["seq"]), bytes(r["hash"])) for r in await conn.fetch(_CHAINS)}


async def chain_ids(conn: Connection) -> list[UUID]:
    return [r["chain_id"] for r in await conn.fetch(_CHAIN_IDS)]


async def rows(conn: Connection, chain_id: UUID) -> AsyncIterator[dict[str, Any]]:
    """A chain's rows in order, streamed with a cursor (inside a transaction)."""
    async for record in conn.cursor(_ROWS, chain_id, prefetch=500):
        yield dict(record)


@cache
def _page_query(actor: bool, types: bool, since: bool, until: bool) -> str:
    where = a.chain_id == p(1)
    where &= a.seq < p(2)
    n = 3
    if actor:
        where &= a.actor_id == p(n)
        n += 1
    if types:
        where &= a.type == p(n)
        n += 1
    if since:
        where &= a.occurred_at >= p(n)
        n += 1
    if until:
        where &= a.occurred_at < p(n)
        n += 1
    cols = [c for c in COLUMNS if c not in ("prev_hash", "hash")]
    return str(
        Query.from_(a).select(*cols).where(where).orderby(a.seq, order=Order.desc).limit(p(n))
    )


async def page(
    conn: Connection,
    chain_id: UUID,
    *,
    before_seq: int,
    limit: int,
    actor_id: UUID | None = None,
    event_type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Newest first, rows of one chain below ``before_seq`` matching the filters."""
    query = _page_query(
        actor_id is not None, event_type is not None, since is not None, until is not None
    )
    args: list[Any] = [chain_id, before_seq]
    args += [v for v in (actor_id, event_type, since, until) if v is not None]
    return [dict(r) for r in await conn.fetch(query, *args, limit)]
