"""How many credential checks one network address may ask for per minute (ADR 0040).

Login throttling (ADR 0022) counts failures per account address; it cannot see one client
that tries a few passwords against each of many accounts ("spraying"), whose argon2 checks
slow every other login down. This budget counts every credential check (login, registration,
password change) per client address, in fixed one-minute windows. In Redis the windows are
shared by every instance; without Redis (a single process) they are kept in memory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


class AddressBudget(Protocol):
    async def spend(self, address: str) -> float | None:
        """Count one check from ``address``: None when allowed, else the seconds until its
        window ends."""


def _window(now: float) -> tuple[int, float]:
    """The current window's number and the seconds left in it."""
    return int(now // WINDOW_SECONDS), WINDOW_SECONDS - now % WINDOW_SECONDS


class RedisAddressBudget:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        prefix: str,
        per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._prefix = prefix
        self._per_minute = per_minute
        self._clock = clock

    async def spend(self, address: str) -> float | None:
        window, left = _window(self._clock())
        key = f"{self._prefix}:auth-address:{address}:{window}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, 2 * WINDOW_SECONDS)
                count, _ = await pipe.execute()
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # Without Redis the per-account throttle (in PostgreSQL) still holds; refusing
            # every login for a cache outage would be worse than a looser limit.
            log.warning("address budget not checked (Redis unavailable): %s", exc)
            return None
        return left if int(count) > self._per_minute else None


class MemoryAddressBudget:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self._per_minute = per_minute
        self._clock = clock
        self._window = -1
        self._counts: dict[str, int] = {}

    async def spend(self, address: str) -> float | None:
        window, left = _window(self._clock())
        if window != self._window:
            self._window, self._counts = window, {}
        self._counts[address] = count = self._counts.get(address, 0) + 1
        return left if count > self._per_minute else None
