"""The audit log's hash chain (ADR 0018): each row's hash covers its recorded fields and the
previous row's hash, so editing, inserting or deleting any row breaks every later link.

Pure functions: the worker hashes on append, ``boardroom audit verify`` recomputes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import orjson

GENESIS = bytes(32)
"""The ``prev_hash`` of a chain's first row."""

HASHED_FIELDS = (
    "chain_id",
    "seq",
    "event_id",
    "kind",
    "type",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "workspace_id",
    "project_id",
    "outcome",
    "origin",
    "correlation_id",
    "data",
)


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, UUID):
        return str(value)
    return value


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: the recorded fields as JSON with sorted keys."""
    return orjson.dumps(
        {name: _normal(fields[name]) for name in HASHED_FIELDS}, option=orjson.OPT_SORT_KEYS
    )


def link(prev_hash: bytes, fields: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(prev_hash + canonical(fields)).digest()


@dataclass(frozen=True, slots=True)
class Problem:
    chain_id: UUID
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.seq}" if self.seq is not None else "chain"
        return f"chain {self.chain_id} {where}: {self.problem}"


def verify_chain(
    chain_id: UUID,
    rows: Iterable[Mapping[str, Any]],
    head: tuple[int, bytes] | None,
) -> list[Problem]:
    """Every break in one chain: rows must be numbered 1..n without gaps, each linking the
    previous hash and hashing to its stored hash, and the head must name the last row."""
    problems: list[Problem] = []
    expected_seq = 1
    prev = GENESIS
    for row in rows:
        seq = int(row["seq"])
        if seq != expected_seq:
            problems.append(Problem(chain_id, seq, f"expected row {expected_seq} (missing rows)"))
        if bytes(row["prev_hash"]) != prev:
            problems.append(Problem(chain_id, seq, "prev_hash does not match the previous row"))
        digest = link(bytes(row["prev_hash"]), row)
        if digest != bytes(row["hash"]):
            problems.append(Problem(chain_id, seq, "hash does not match the row (edited)"))
        prev = bytes(row["hash"])
        expected_seq = seq + 1
    last = expected_seq - 1
    if head is None:
        if last:
            problems.append(Problem(chain_id, None, "rows exist but the chain has no head"))
    elif head != (last, prev):
        problems.append(
            Problem(chain_id, None, f"head names row {head[0]}, last row is {last} (rows removed)")
        )
    return problems
