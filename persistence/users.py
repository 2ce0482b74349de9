"""Users and their credentials."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pypika import functions as fn

from domain.models import User
from persistence.db import Connection, returned
from persistence.errors import DuplicateKey
from persistence.sql import Query, p, users

_USER_FIELDS = (users.id, users.email, users.display_name, users.created_at)

_INSERT = str(
    Query.into(users)
    .columns(users.id, users.email, users.display_name, users.password_hash)
    .insert(p(1), p(2), p(3), p(4))
    .returning(*_USER_FIELDS)
)
_BY_EMAIL = str(
    Query.from_(users)
    .select(*_USER_FIELDS, users.password_hash)
    .where(fn.Lower(users.email) == fn.Lower(p(1)))
)
_BY_ID = str(Query.from_(users).select(*_USER_FIELDS).where(users.id == p(1)))
_HASH_FOR_UPDATE = str(
    Query.from_(users).select(users.password_hash).where(users.id == p(1)).for_update()
)
_SET_HASH = str(Query.update(users).set(users.password_hash, p(2)).where(users.id == p(1)))


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        created_at=row["created_at"],
    )


async def insert(
    conn: Connection, user_id: UUID, email: str, display_name: str, password_hash: str
) -> User:
    try:
        row = returned(await conn.fetchrow(_INSERT, user_id, email, display_name, password_hash))
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKey("email") from exc
    return _user(row)


async def credentials_by_email(conn: Connection, email: str) -> tuple[User, str] | None:
    row = await conn.fetchrow(_BY_EMAIL, email)
    return (_user(row), row["password_hash"]) if row else None


async def get(conn: Connection, user_id: UUID) -> User | None:
    row = await conn.fetchrow(_BY_ID, user_id)
    return _user(row) if row else None


async def find_by_email(conn: Connection, email: str) -> User | None:
    found = await credentials_by_email(conn, email)
    return found[0] if found else None


async def lock_password_hash(conn: Connection, user_id: UUID) -> str | None:
    """The stored hash, row-locked until commit (two password changes queue here)."""
    value: str | None = await conn.fetchval(_HASH_FOR_UPDATE, user_id)
    return value


async def set_password_hash(conn: Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(_SET_HASH, user_id, password_hash)


_NAMES = "SELECT id, display_name FROM users WHERE id = ANY($1::uuid[])"


async def display_names(conn: Connection, user_ids: list[UUID]) -> dict[UUID, str]:
    if not user_ids:
        return {}
    return {r["id"]: r["display_name"] for r in await conn.fetch(_NAMES, user_ids)}
