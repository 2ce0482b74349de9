"""Failed logins per e-mail address and device, for throttling (ADR 0022)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

from persistence.db import Connection

# SQL text: the FILTER aggregates and the interval arithmetic are clearer than pypika here.
_COUNT = """
SELECT count(*) FILTER (WHERE device_id IS NULL) AS untrusted,
       count(*) FILTER (WHERE device_id = $2) AS this_device,
       extract(epoch FROM min(failed_at) FILTER (WHERE device_id IS NULL)
               + $3::interval - now()) AS untrusted_clears_in,
       extract(epoch FROM min(failed_at) FILTER (WHERE device_id = $2)
               + $3::interval - now()) AS device_clears_in
FROM login_failures
WHERE email_key = $1 AND failed_at > now() - $3::interval
"""
_RECORD = "INSERT INTO login_failures (email_key, device_id, attempt_id) VALUES ($1, $2, $3)"
_FORGET_ATTEMPT = "DELETE FROM login_failures WHERE attempt_id = $1"
# One lock per address, held to the end of the transaction: counting and recording an attempt
# happen as one step across every connection and instance.
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('login-attempts:' || $1, 0))"
_FORGET_OLD = (
    "DELETE FROM login_failures WHERE email_key = $1 AND failed_at <= now() - $2::interval"
)


@dataclass(frozen=True, slots=True)
class Failures:
    untrusted: int
    this_device: int
    untrusted_clears_in: float
    device_clears_in: float


async def recent(
    conn: Connection, email_key: str, device_id: UUID | None, window: timedelta
) -> Failures:
    row = await conn.fetchrow(_COUNT, email_key, device_id, window)
    assert row is not None
    return Failures(
        int(row["untrusted"]),
        int(row["this_device"]),
        float(row["untrusted_clears_in"] or 0.0),
        float(row["device_clears_in"] or 0.0),
    )


async def lock(conn: Connection, email_key: str) -> None:
    """Serialize the attempts on ``email_key`` until this transaction ends."""
    await conn.execute(_LOCK, email_key)


async def record(
    conn: Connection, email_key: str, device_id: UUID | None, window: timedelta
) -> UUID:
    """Count an attempt as failed (dropping this address's rows older than ``window``); the id
    returned lets ``forget`` take it back if the attempt succeeds."""
    attempt_id = uuid4()
    await conn.execute(_FORGET_OLD, email_key, window)
    await conn.execute(_RECORD, email_key, device_id, attempt_id)
    return attempt_id


async def forget(conn: Connection, attempt_id: UUID) -> None:
    """The attempt succeeded: it was no failure."""
    await conn.execute(_FORGET_ATTEMPT, attempt_id)
