"""Fractional placement for the application layer: ``after_id`` that names no sibling is the
caller's ``not_found``, whichever list (columns, tasks, checklist items) it is in."""

from __future__ import annotations

from uuid import UUID

from application.project_writes import Change
from domain.errors import NotFound
from persistence.db import Connection
from persistence.positions import Anchor, Placement, UnknownSibling, place


async def place_after(
    conn: Connection,
    table: str,
    scope: str,
    scope_id: UUID,
    after_id: UUID | None,
    anchor: Anchor,
    moving_id: UUID,
) -> Placement:
    try:
        return await place(conn, table, scope, scope_id, after_id, anchor, moving_id)
    except UnknownSibling as exc:
        raise NotFound(
            f"after_id {after_id} is not a sibling in the target list.",
            {"field": "after_id", "id": str(after_id)},
        ) from exc


def with_rebalanced(change: Change, placement: Placement) -> Change:
    """The change whose event data and ack result also carry ``rebalanced``, the siblings'
    new keys, when the placement re-keyed the list (clients apply them; protocol.md)."""
    if not placement.rebalanced:
        return change
    moved = [{"id": str(i), "position": key} for i, key in placement.rebalanced]
    return Change(
        change.type, {**change.data, "rebalanced": moved}, {**change.result, "rebalanced": moved}
    )
