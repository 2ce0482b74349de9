"""The append-only, hash-chained audit log (ADR 0018)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pypika import Order

from domain.audit_chain import HASHED_FIELDS
from persistence.db import Connection, stream_rows
from persistence.sql import Query, audit_heads, audit_log, p

a = audit_log
h = audit_heads

# The recorded fields (what the chain hashes), then the links of the chain.
COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")

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
    async for record in stream_rows(conn, _ROWS, chain_id):
        yield dict(record)


PUBLIC_COLUMNS = tuple(c for c in COLUMNS if c not in ("prev_hash", "hash"))


@dataclass(frozen=True, slots=True)
class Filters:
    chain_id: UUID
    actor_id: UUID | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None

    def _criteria(self) -> tuple[Any, list[Any]]:
        where = a.chain_id == p(1)
        args: list[Any] = [self.chain_id]
        for column, value, test in (
            (a.actor_id, self.actor_id, "eq"),
            (a.type, self.event_type, "eq"),
            (a.occurred_at, self.since, "ge"),
            (a.occurred_at, self.until, "lt"),
            (a.seq, self.before_seq, "lt"),
        ):
            if value is None:
                continue
            args.append(value)
            param = p(len(args))
            where &= {"eq": column == param, "ge": column >= param, "lt": column < param}[test]
        return where, args


def _select(filters: Filters, newest_first: bool) -> tuple[str, list[Any]]:
    where, args = filters._criteria()
    order = Order.desc if newest_first else Order.asc
    query = Query.from_(a).select(*PUBLIC_COLUMNS).where(where).orderby(a.seq, order=order)
    return str(query), args


async def page(conn: Connection, filters: Filters, limit: int) -> list[dict[str, Any]]:
    """Newest first, at most ``limit`` entries matching ``filters``."""
    query, args = _select(filters, newest_first=True)
    return [dict(r) for r in await conn.fetch(f"{query} LIMIT {int(limit)}", *args)]


async def stream(conn: Connection, filters: Filters) -> AsyncIterator[dict[str, Any]]:
    """Oldest first, every entry matching ``filters``, through a cursor (in a transaction)."""
    query, args = _select(filters, newest_first=False)
    async for record in stream_rows(conn, query, *args):
        yield dict(record)
