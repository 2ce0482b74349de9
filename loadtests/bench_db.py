"""A database of its own for one benchmark run: created, migrated, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from persistence.migrator import migrate  # the importing script puts the repository on sys.path


@asynccontextmanager
async def fresh_database(admin_url: str) -> AsyncIterator[str]:
    """The URL of a new, migrated database on the server of ``admin_url``; it is dropped
    (connections forced out) when the block ends, however it ends."""
    name = f"boardroom_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        database_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        await migrate(database_url)
        yield database_url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
