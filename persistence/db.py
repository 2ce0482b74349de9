"""The asyncpg pool, with JSON codecs that use orjson."""

from __future__ import annotations

import asyncpg
import orjson


def _dumps(value: object) -> str:
    return orjson.dumps(value, default=str).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog"
        )


def make_pool(dsn: str, min_size: int, max_size: int) -> asyncpg.Pool:
    """A pool that connects when awaited (at app start-up), so wiring needs no I/O."""
    return asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, init=_init_connection, command_timeout=10
    )
