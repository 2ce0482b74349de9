"""The asyncpg pool, with JSON codecs that use orjson."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

# What repositories accept: a plain connection or one borrowed from the pool.
Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"


def _dumps(value: object) -> str:
    return orjson.dumps(value, default=str).decode()


async def _init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


def make_pool(dsn: str, min_size: int, max_size: int) -> asyncpg.Pool:
    """A pool that connects when awaited (at app start-up), so wiring needs no I/O."""
    return asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=10
    )


def returned(row: asyncpg.Record | None) -> asyncpg.Record:
    """The row of an ``INSERT ... RETURNING``, which always yields one."""
    if row is None:
        raise RuntimeError("INSERT ... RETURNING produced no row")
    return row


async def connect(dsn: str) -> asyncpg.Connection[asyncpg.Record]:
    """One dedicated connection (outside the pool) with the same JSON codecs."""
    conn: asyncpg.Connection[asyncpg.Record] = await asyncpg.connect(dsn, command_timeout=10)
    await _init_connection(conn)
    return conn


async def stream_rows(
    conn: Connection, query: str, *args: object, batch: int = 500
) -> AsyncIterator[asyncpg.Record]:
    """The rows of ``query`` through a server-side cursor (inside a transaction), fetched
    ``batch`` at a time: memory stays flat however many rows, and tracing records one span
    per batch (iterating a cursor row by row would record one per row)."""
    try:
        cursor = await conn.cursor(query, *args)
        while rows := await cursor.fetch(batch):
            for row in rows:
                yield row
    except (
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        asyncpg.PostgresConnectionError,
        OSError,
    ):
        # The connection broke mid-stream (the server went away or ended this backend).
        # asyncpg can be left mid-protocol ("another operation is in progress"), and then
        # rolling back or resetting it for the pool never finishes: close it outright.
        conn.terminate()
        raise
