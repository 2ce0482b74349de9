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
