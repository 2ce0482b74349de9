"""Pending invitations by e-mail address."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from pypika import functions as fn

from domain.models import Invitation
from persistence.db import Connection, returned
from persistence.errors import DuplicateKey
from persistence.sql import Query, invitations, p

i = invitations
_FIELDS = (
    i.id,
    i.workspace_id,
    i.email,
    i.role,
    i.project_id,
    i.project_role,
    i.invited_by,
    i.created_at,
)
_PENDING = i.accepted_at.isnull()

_INSERT = str(
    Query.into(i)
    .columns(i.id, i.workspace_id, i.email, i.role, i.project_id, i.project_role, i.invited_by)
    .insert(p(1), p(2), p(3), p(4), p(5), p(6), p(7))
    .returning(*_FIELDS)
)
_PENDING_IN_WORKSPACE = str(
    Query.from_(i).select(*_FIELDS).where((i.workspace_id == p(1)) & _PENDING).orderby(i.created_at)
)
_PENDING_FOR_EMAIL = str(
    Query.from_(i)
    .select(*_FIELDS)
    .where((fn.Lower(i.email) == fn.Lower(p(1))) & _PENDING)
    .orderby(i.created_at)
    .for_update()
)
_ACCEPT = str(
    Query.update(i).set(i.accepted_at, fn.Now()).set(i.accepted_by, p(2)).where(i.id == p(1))
)


async def insert(
    conn: Connection,
    invitation_id: UUID,
    workspace_id: UUID,
    email: str,
    role: str,
    project_id: UUID | None,
    project_role: str | None,
    invited_by: UUID,
) -> Invitation:
    try:
        row = await conn.fetchrow(
            _INSERT, invitation_id, workspace_id, email, role, project_id, project_role, invited_by
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateKey("email") from exc
    return Invitation(**dict(returned(row)))


async def pending_in_workspace(conn: Connection, workspace_id: UUID) -> list[Invitation]:
    return [Invitation(**dict(r)) for r in await conn.fetch(_PENDING_IN_WORKSPACE, workspace_id)]


async def lock_pending_for_email(conn: Connection, email: str) -> list[Invitation]:
    return [Invitation(**dict(r)) for r in await conn.fetch(_PENDING_FOR_EMAIL, email)]


async def mark_accepted(conn: Connection, invitation_id: UUID, user_id: UUID) -> None:
    await conn.execute(_ACCEPT, invitation_id, user_id)
