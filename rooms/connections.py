"""Which Socket.IO connections (sids) each user has, across every instance.

Rooms are local to an instance, so to act on "all of Ann's sockets" (evict her from a project's
room when she is removed, later: disconnect her on logout) an instance needs her sids wherever
they are connected. With Redis they live in one set per user; python-socketio's Redis manager
then routes ``leave_room``/``disconnect`` for a remote sid to the instance that holds it.
"""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

import redis.asyncio as redis

# A crashed instance never removes its sids; expiring idle sets bounds that garbage.
_TTL_SECONDS = 7 * 24 * 3600


class ConnectionRegistry(Protocol):
    """Per user, the live sockets as (sid, session id of the login that opened it)."""

    async def add(self, user_id: UUID, sid: str, session_id: UUID) -> None: ...

    async def remove(self, user_id: UUID, sid: str, session_id: UUID) -> None: ...

    async def sockets(self, user_id: UUID) -> set[tuple[str, str]]: ...


def _entry(sid: str, session_id: UUID) -> str:
    return f"{sid} {session_id}"


def _parse(entry: str) -> tuple[str, str]:
    sid, _, session = entry.partition(" ")
    return sid, session


class RedisConnectionRegistry:
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:sids:"

    async def add(self, user_id: UUID, sid: str, session_id: UUID) -> None:
        key = f"{self._prefix}{user_id}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, _entry(sid, session_id))
            pipe.expire(key, _TTL_SECONDS)
            await pipe.execute()

    async def remove(self, user_id: UUID, sid: str, session_id: UUID) -> None:
        await self._redis.srem(f"{self._prefix}{user_id}", _entry(sid, session_id))

    async def sockets(self, user_id: UUID) -> set[tuple[str, str]]:
        members = await self._redis.smembers(f"{self._prefix}{user_id}")
        return {_parse(m.decode() if isinstance(m, bytes) else str(m)) for m in members}


class LocalConnectionRegistry:
    """Single-instance deployments (no Redis): the process knows every connection."""

    def __init__(self) -> None:
        self._sids: dict[UUID, set[str]] = {}

    async def add(self, user_id: UUID, sid: str, session_id: UUID) -> None:
        self._sids.setdefault(user_id, set()).add(_entry(sid, session_id))

    async def remove(self, user_id: UUID, sid: str, session_id: UUID) -> None:
        sids = self._sids.get(user_id)
        if sids is not None:
            sids.discard(_entry(sid, session_id))
            if not sids:
                del self._sids[user_id]

    async def sockets(self, user_id: UUID) -> set[tuple[str, str]]:
        return {_parse(entry) for entry in self._sids.get(user_id, ())}
