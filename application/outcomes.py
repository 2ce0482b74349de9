"""What a mutation is answered with, and the idempotency rule that replays it (ADR 0009)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.errors import Conflict, InvalidPayload
from persistence import applied_ops
from persistence.db import Connection


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a mutation is answered with: its result and, for project changes, the ``seq``.

    The same outcome is stored with the op (``applied_ops``) so a retry is answered with it.
    """

    result: dict[str, Any]
    seq: int | None = None

    def stored(self) -> dict[str, Any]:
        return {"result": self.result, "seq": self.seq}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> Outcome:
        return cls(stored["result"], stored["seq"])


async def claim_op(conn: Connection, user_id: UUID, cmd: c.Mutation) -> Outcome | None:
    """Claim the op for this transaction, or return the outcome it was first answered with.

    A retry (even a concurrent one, from another connection or instance) is applied once: its
    claim waits for the first transaction to end and then finds the stored outcome (ADR 0009).
    """
    command = type(cmd).__name__
    if await applied_ops.claim(conn, user_id, cmd.op_id, command):
        return None
    found = await applied_ops.stored(conn, user_id, cmd.op_id)
    if found is None or found[1] is None:
        # Unreachable while claim and record share one transaction; answer safely regardless.
        raise Conflict("The op is still being applied; retry it.", {"field": "op_id"})
    if found[0] != command:
        raise InvalidPayload(
            "This op_id was already used for a different operation.",
            [{"field": "op_id", "message": f"already used for {found[0]}", "type": "op_id_reused"}],
        )
    return Outcome.from_stored(found[1])


async def record_outcome(
    conn: Connection, user_id: UUID, cmd: c.Mutation, outcome: Outcome
) -> None:
    """Store the answer with the claimed op, in the same transaction as the change."""
    await applied_ops.record(conn, user_id, cmd.op_id, outcome.stored())
