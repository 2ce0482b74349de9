"""Computing a fractional position among siblings (columns of a project, tasks of a column).

Callers hold the project's row lock (``projects.next_seq``), so no two writers of one project
place items at the same time and keys stay unique. When the key would grow past
``MAX_KEY_LENGTH``, the whole list gets fresh short keys in the same transaction and the
placement names every sibling whose key changed (ADR 0041).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache
from uuid import UUID

from pypika import Table
from pypika import functions as fn

from domain.ordering import MAX_KEY_LENGTH, key_between, spread_keys
from persistence.db import Connection
from persistence.sql import Query, p


class Anchor(Enum):
    """Where an item goes when no sibling is named: first (moves) or last (creations)."""

    START = "start"
    END = "end"


class UnknownSibling(LookupError):
    """``after_id`` names no item of this scope."""


@dataclass(frozen=True, slots=True)
class Placement:
    """The moving item's key, and the siblings re-keyed to make room (usually none)."""

    key: str
    rebalanced: tuple[tuple[UUID, str], ...] = ()


@cache
def _rebalance_queries(table_name: str, scope: str) -> tuple[str, str]:
    t = Table(table_name)
    siblings = str(
        Query.from_(t)
        .select(t.id, t.position)
        .where((t.field(scope) == p(1)) & (t.id != p(2)))
        .orderby(t.position)
        .orderby(t.id)
    )
    # Table and column names come from this module's callers, never from a request.
    rekey = (
        f'UPDATE "{table_name}" AS t SET position = u.position '  # noqa: S608  # nosec B608
        "FROM unnest($1::uuid[], $2::text[]) AS u(id, position) "
        f'WHERE t.id = u.id AND t."{scope}" = $3'
    )
    return siblings, rekey


@cache
def _queries(table_name: str, scope: str) -> tuple[str, str, str, str]:
    t = Table(table_name)
    same_scope = (t.field(scope) == p(1)) & (t.id != p(2))
    position_of = str(
        Query.from_(t).select(t.position).where((t.field(scope) == p(1)) & (t.id == p(2)))
    )
    first_after = str(
        Query.from_(t)
        .select(t.position)
        .where(same_scope & (t.position > p(3)))
        .orderby(t.position)
        .limit(1)
    )
    first = str(Query.from_(t).select(fn.Min(t.position)).where(same_scope))
    last = str(Query.from_(t).select(fn.Max(t.position)).where(same_scope))
    return position_of, first_after, first, last


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where ``moving_id`` is to go: after ``after_id`` in the list of ``scope_id``."""

    table: str
    scope: str
    scope_id: UUID
    after_id: UUID | None
    anchor: Anchor
    moving_id: UUID


async def place(
    conn: Connection,
    table: str,
    scope: str,
    scope_id: UUID,
    after_id: UUID | None,
    anchor: Anchor,
    moving_id: UUID,
) -> Placement:
    """The key for ``moving_id`` right after ``after_id`` (or at ``anchor`` when None)."""
    slot = _Slot(table, scope, scope_id, after_id, anchor, moving_id)
    key = await _key(conn, slot)
    if len(key) <= MAX_KEY_LENGTH:
        return Placement(key)
    return await _rebalance(conn, slot)


async def _key(conn: Connection, slot: _Slot) -> str:
    position_of, first_after, first, last = _queries(slot.table, slot.scope)
    if slot.after_id is None:
        if slot.anchor is Anchor.START:
            return key_between(None, await conn.fetchval(first, slot.scope_id, slot.moving_id))
        return key_between(await conn.fetchval(last, slot.scope_id, slot.moving_id), None)
    before = await conn.fetchval(position_of, slot.scope_id, slot.after_id)
    if before is None or slot.after_id == slot.moving_id:
        raise UnknownSibling(str(slot.after_id))
    following = await conn.fetchval(first_after, slot.scope_id, slot.moving_id, before)
    return key_between(before, following)


async def _rebalance(conn: Connection, slot: _Slot) -> Placement:
    """Give the list, with the moving item in its new place, fresh evenly spread keys; write
    the siblings whose key changed in one statement."""
    siblings_query, rekey = _rebalance_queries(slot.table, slot.scope)
    rows = await conn.fetch(siblings_query, slot.scope_id, slot.moving_id)
    siblings = [(r["id"], r["position"]) for r in rows]
    ids = [sibling_id for sibling_id, _ in siblings]
    if slot.after_id is not None:
        index = ids.index(slot.after_id) + 1  # _key has checked that it is a sibling
    else:
        index = 0 if slot.anchor is Anchor.START else len(ids)
    order = [*ids[:index], slot.moving_id, *ids[index:]]
    keys = dict(zip(order, spread_keys(len(order)), strict=True))
    changed = tuple((i, keys[i]) for i, old in siblings if keys[i] != old)
    if changed:
        await conn.execute(rekey, [i for i, _ in changed], [k for _, k in changed], slot.scope_id)
    return Placement(keys[slot.moving_id], changed)
