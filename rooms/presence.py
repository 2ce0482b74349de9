"""Presence: who is viewing a project and which task each is editing, across instances
(issue 5, item 2; ADR 0024).

Ephemeral by design: nothing is stored in PostgreSQL. Each instance keeps its own sockets'
entries alive in Redis (refreshed every ``heartbeat`` seconds, expiring after ``ttl``), so a
crashed instance's viewers disappear within ``ttl``; a clean disconnect removes them at once.
Every change is broadcast to the project's room as ``presence`` with the full list.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import orjson
import redis.asyncio as redis
import socketio

from rooms.names import project_room

log = logging.getLogger(__name__)

PRESENCE_EVENT = "presence"
_BATCH = 500  # viewers refreshed per Redis round trip


@dataclass(frozen=True, slots=True)
class Viewer:
    sid: str
    user_id: str
    display_name: str
    editing_task_id: str | None = None


class PresenceStore(Protocol):
    async def put(self, project_id: str, viewer: Viewer, expires_at: float) -> None: ...

    async def put_many(self, entries: list[tuple[str, Viewer]], expires_at: float) -> None:
        """``put`` for many (project id, viewer) pairs at once: the heartbeat's refresh."""
        ...

    async def drop(self, project_id: str, sid: str) -> None: ...

    async def viewers(self, project_id: str, now: float) -> tuple[list[Viewer], int]:
        """The live viewers, and how many expired entries were pruned just now."""
        ...


class RedisPresenceStore:
    """Per project: a sorted set of sids scored by expiry, and a hash of their details."""

    def __init__(self, client: redis.Redis, namespace: str, ttl: float) -> None:
        self._redis = client
        self._prefix = f"{namespace}:presence:"
        self._key_ttl = int(ttl * 4) + 1

    async def put(self, project_id: str, viewer: Viewer, expires_at: float) -> None:
        await self.put_many([(project_id, viewer)], expires_at)

    async def put_many(self, entries: list[tuple[str, Viewer]], expires_at: float) -> None:
        """One round trip per ``_BATCH`` viewers, not one each: an instance holding 50,000
        sockets refreshes them every few seconds."""
        for start in range(0, len(entries), _BATCH):
            async with self._redis.pipeline(transaction=True) as pipe:
                for project_id, viewer in entries[start : start + _BATCH]:
                    alive, details = self._keys(project_id)
                    pipe.zadd(alive, {viewer.sid: expires_at})
                    pipe.hset(details, viewer.sid, orjson.dumps(asdict(viewer)))
                    pipe.expire(alive, self._key_ttl)
                    pipe.expire(details, self._key_ttl)
                await pipe.execute()

    async def drop(self, project_id: str, sid: str) -> None:
        alive, details = self._keys(project_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(alive, sid)
            pipe.hdel(details, sid)
            await pipe.execute()

    async def viewers(self, project_id: str, now: float) -> tuple[list[Viewer], int]:
        alive, details = self._keys(project_id)
        expired = [_text(s) for s in await self._redis.zrangebyscore(alive, "-inf", now)]
        if expired:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(alive, *expired)
                pipe.hdel(details, *expired)
                await pipe.execute()
        live = {_text(s) for s in await self._redis.zrangebyscore(alive, now, "+inf")}
        found = await self._redis.hgetall(details)
        viewers = [Viewer(**orjson.loads(v)) for k, v in found.items() if _text(k) in live]
        return viewers, len(expired)

    def _keys(self, project_id: str) -> tuple[str, str]:
        return f"{self._prefix}{project_id}:alive", f"{self._prefix}{project_id}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LocalPresenceStore:
    """Single-instance deployments (no Redis)."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, tuple[Viewer, float]]] = {}

    async def put(self, project_id: str, viewer: Viewer, expires_at: float) -> None:
        self._entries.setdefault(project_id, {})[viewer.sid] = (viewer, expires_at)

    async def put_many(self, entries: list[tuple[str, Viewer]], expires_at: float) -> None:
        for project_id, viewer in entries:
            await self.put(project_id, viewer, expires_at)

    async def drop(self, project_id: str, sid: str) -> None:
        self._entries.get(project_id, {}).pop(sid, None)

    async def viewers(self, project_id: str, now: float) -> tuple[list[Viewer], int]:
        entries = self._entries.get(project_id, {})
        expired = [sid for sid, (_, until) in entries.items() if until <= now]
        for sid in expired:
            del entries[sid]
        return [viewer for viewer, _ in entries.values()], len(expired)


class PresenceTracker:
    def __init__(
        self,
        sio: socketio.AsyncServer,
        store: PresenceStore,
        ttl: float = 15.0,
        heartbeat: float = 5.0,
    ) -> None:
        self._sio = sio
        self._store = store
        self._ttl = ttl
        self._heartbeat = heartbeat
        self._local: dict[str, dict[str, Viewer]] = {}  # sid -> project id -> this viewer
        self._task: asyncio.Task[None] | None = None

    async def joined(self, sid: str, project_id: str, user_id: str, display_name: str) -> None:
        await self._put(project_id, Viewer(sid, user_id, display_name))

    async def editing(self, sid: str, project_id: str, task_id: str | None) -> bool:
        """Set what ``sid`` edits in ``project_id``; False if it is not viewing the project."""
        current = self._local.get(sid, {}).get(project_id)
        if current is None:
            return False
        await self._put(project_id, Viewer(sid, current.user_id, current.display_name, task_id))
        return True

    async def left(self, sid: str, project_id: str) -> None:
        if self._local.get(sid, {}).pop(project_id, None) is not None:
            await self._store.drop(project_id, sid)
            await self.broadcast(project_id)

    async def disconnected(self, sid: str) -> None:
        for project_id in list(self._local.pop(sid, {})):
            await self._store.drop(project_id, sid)
            await self.broadcast(project_id)

    async def broadcast(self, project_id: str) -> list[dict[str, Any]]:
        viewers, _ = await self._store.viewers(project_id, time.time())
        summary = summarize(viewers)
        await self._sio.emit(
            PRESENCE_EVENT,
            {"project_id": project_id, "viewers": summary},
            room=project_room(project_id),
        )
        return summary

    async def _put(self, project_id: str, viewer: Viewer) -> None:
        self._local.setdefault(viewer.sid, {})[project_id] = viewer
        await self._store.put(project_id, viewer, time.time() + self._ttl)
        await self.broadcast(project_id)

    # --- liveness -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat(), name="presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _beat(self) -> None:
        """Keep this instance's viewers alive; drop (and announce) other instances' dead ones."""
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self._refresh()
            except Exception:
                log.exception("presence heartbeat failed")

    async def _refresh(self) -> None:
        now = time.time()
        entries = [
            (project_id, viewer)
            for viewers in list(self._local.values())
            for project_id, viewer in list(viewers.items())
        ]
        await self._store.put_many(entries, now + self._ttl)
        for project_id in {project_id for project_id, _ in entries}:
            _, pruned = await self._store.viewers(project_id, now)
            if pruned:
                await self.broadcast(project_id)


def summarize(viewers: Iterable[Viewer]) -> list[dict[str, Any]]:
    """One entry per user: name, connections, and the tasks they are editing."""
    users: dict[str, dict[str, Any]] = {}
    for viewer in viewers:
        entry = users.setdefault(
            viewer.user_id,
            {
                "user_id": viewer.user_id,
                "display_name": viewer.display_name,
                "connections": 0,
                "editing": [],
            },
        )
        entry["connections"] += 1
        if viewer.editing_task_id and viewer.editing_task_id not in entry["editing"]:
            entry["editing"].append(viewer.editing_task_id)
    return sorted(users.values(), key=lambda u: (u["display_name"].lower(), u["user_id"]))
