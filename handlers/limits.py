"""Admission and rate limits of Socket.IO connections (issue 5, item 3 and 6; ADR 0023).

Per instance, in memory: a token bucket per connection and one per account (shared by that
account's connections on this instance), at most ``max_per_user`` connections per account,
and load shedding: no new connection while the instance holds ``max_connections`` or its
event loop lags more than ``max_loop_lag``. Existing connections are never dropped for load.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass
from uuid import UUID

from domain.errors import RateLimited, Unavailable
from domain.rate_limit import TokenBucket

SHED_RETRY_AFTER = 5.0  # seconds a refused client should wait before reconnecting


@dataclass(frozen=True, slots=True)
class LimitSettings:
    per_connection: tuple[float, int] = (20.0, 40)
    per_account: tuple[float, int] = (50.0, 100)
    max_per_user: int = 20
    max_connections: int = 10_000
    max_loop_lag: float = 0.5


class LoopLag:
    """How late the event loop runs a timer: sampled every ``interval``, the worst of the
    last few samples (a single slow tick should not shed, a sustained one should)."""

    def __init__(self, interval: float = 0.25, samples: int = 4) -> None:
        self._interval = interval
        self._recent: list[float] = [0.0] * samples
        self._task: asyncio.Task[None] | None = None

    @property
    def seconds(self) -> float:
        return min(self._recent)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._sample(), name="loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sample(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(self._interval)
            self._recent = [*self._recent[1:], time.monotonic() - started - self._interval]


class ConnectionLimits:
    def __init__(self, settings: LimitSettings, lag: LoopLag) -> None:
        self._settings = settings
        self._lag = lag
        self._users: dict[str, UUID] = {}
        self._per_user: Counter[UUID] = Counter()
        self._connection_buckets: dict[str, TokenBucket] = {}
        self._account_buckets: dict[UUID, TokenBucket] = {}

    @property
    def connections(self) -> int:
        """Connections this instance holds."""
        return len(self._users)

    def admit(self, sid: str, user_id: UUID) -> None:
        """Take the connection, or raise why not: ``Unavailable`` (overloaded) or
        ``RateLimited`` (too many connections of this account)."""
        if len(self._users) >= self._settings.max_connections:
            raise _overloaded("this instance holds as many connections as it may")
        if self._lag.seconds > self._settings.max_loop_lag:
            raise _overloaded("this instance is falling behind")
        if self._per_user[user_id] >= self._settings.max_per_user:
            raise RateLimited(
                f"This account has {self._settings.max_per_user} connections open here already; "
                "close one first.",
                SHED_RETRY_AFTER,
            )
        self._users[sid] = user_id
        self._per_user[user_id] += 1

    def release(self, sid: str) -> None:
        user_id = self._users.pop(sid, None)
        self._connection_buckets.pop(sid, None)
        if user_id is None:
            return
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]
            self._account_buckets.pop(user_id, None)

    def take(self, sid: str) -> None:
        """Spend one event of the connection's and the account's budget, or raise
        ``RateLimited`` (and spend nothing more)."""
        now = time.monotonic()
        bucket = self._connection_buckets.get(sid)
        if bucket is None:
            bucket = self._connection_buckets[sid] = TokenBucket(*self._settings.per_connection)
        _spend(bucket, now, "on this connection")
        user_id = self._users.get(sid)
        if user_id is None:
            return
        account = self._account_buckets.get(user_id)
        if account is None:
            account = self._account_buckets[user_id] = TokenBucket(*self._settings.per_account)
        _spend(account, now, "from this account")


def _spend(bucket: TokenBucket, now: float, whose: str) -> None:
    wait = bucket.take(now)
    if wait:
        raise RateLimited(f"Too many events {whose}; retry in {wait:.2f} s.", round(wait, 3))


def _overloaded(why: str) -> Unavailable:
    return Unavailable(f"The server is busy ({why}); connect again shortly.", SHED_RETRY_AFTER)
