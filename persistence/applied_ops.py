"""The idempotency store: which ops each actor has applied, and what they were answered."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from persistence.db import Connection
from persistence.sql import Query, applied_ops, p

a = applied_ops

_CLAIM = str(
    Query.into(a)
    .columns(a.actor_id, a.op_id, a.command)
    .insert(p(1), p(2), p(3))
    .on_conflict(a.actor_id, a.op_id)
    .do_nothing()
    .returning(a.op_id)
)
_STORED = str(
    Query.from_(a).select(a.command, a.reply).where((a.actor_id == p(1)) & (a.op_id == p(2)))
)
_RECORD = str(Query.update(a).set(a.reply, p(3)).where((a.actor_id == p(1)) & (a.op_id == p(2))))


async def claim(conn: Connection, actor_id: UUID, op_id: str, command: str) -> bool:
    """Claim ``op_id`` for this transaction; False when it was already applied.

    A concurrent claim of the same op waits here until the first transaction ends: if that one
    commits, this returns False; if it rolls back, this claim wins.
    """
    return await conn.fetchval(_CLAIM, actor_id, op_id, command) is not None


async def stored(conn: Connection, actor_id: UUID, op_id: str) -> tuple[str, Any] | None:
    row = await conn.fetchrow(_STORED, actor_id, op_id)
    return (row["command"], row["reply"]) if row else None


async def record(conn: Connection, actor_id: UUID, op_id: str, reply: Any) -> None:
    await conn.execute(_RECORD, actor_id, op_id, reply)
