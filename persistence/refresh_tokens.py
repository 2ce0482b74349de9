"""Stored refresh tokens (digests only), their rotation and family revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from pypika import functions as fn

from persistence.db import Connection
from persistence.sql import Query, p, refresh_tokens

t = refresh_tokens

_INSERT = str(
    Query.into(t)
    .columns(t.id, t.user_id, t.family_id, t.token_hash, t.expires_at)
    .insert(p(1), p(2), p(3), p(4), p(5))
)
_BY_DIGEST = str(
    Query.from_(t)
    .select(t.id, t.user_id, t.family_id, t.expires_at, t.used_at, t.revoked_at)
    .where(t.token_hash == p(1))
    .for_update()
)
_FAMILY_ACTIVE = str(
    Query.from_(t)
    .select(t.id)
    .where((t.family_id == p(1)) & t.revoked_at.isnull() & t.used_at.isnull())
    .limit(1)
)
_MARK_USED = str(Query.update(t).set(t.used_at, fn.Now()).where(t.id == p(1)))
_REVOKE_FAMILY = str(
    Query.update(t).set(t.revoked_at, fn.Now()).where((t.family_id == p(1)) & t.revoked_at.isnull())
)

_REVOKE_USER = str(
    Query.update(t)
    .set(t.revoked_at, fn.Now())
    .where((t.user_id == p(1)) & t.revoked_at.isnull())
    .returning(t.family_id)
)


@dataclass(frozen=True, slots=True)
class StoredRefreshToken:
    id: UUID
    user_id: UUID
    family_id: UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


async def insert(
    conn: Connection, user_id: UUID, family_id: UUID, digest: bytes, expires_at: datetime
) -> None:
    await conn.execute(_INSERT, uuid4(), user_id, family_id, digest, expires_at)


async def lock_by_digest(conn: Connection, digest: bytes) -> StoredRefreshToken | None:
    """Find a token and lock its row, so two concurrent refreshes cannot both rotate it."""
    row = await conn.fetchrow(_BY_DIGEST, digest)
    return StoredRefreshToken(**dict(row)) if row else None


async def mark_used(conn: Connection, token_id: UUID) -> None:
    await conn.execute(_MARK_USED, token_id)


async def revoke_family(conn: Connection, family_id: UUID) -> None:
    await conn.execute(_REVOKE_FAMILY, family_id)


async def family_active(conn: Connection, family_id: UUID) -> bool:
    """Whether the login still has a live (unspent, unrevoked) refresh token."""
    return await conn.fetchval(_FAMILY_ACTIVE, family_id) is not None


async def revoke_user(conn: Connection, user_id: UUID) -> set[UUID]:
    """Revoke every login of the user; the families that were live."""
    return {r["family_id"] for r in await conn.fetch(_REVOKE_USER, user_id)}
