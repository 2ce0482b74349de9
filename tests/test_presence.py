"""Presence (issue 5, item 2): who views a project and what they edit, across instances,
gone at once on a clean disconnect and within the TTL when an instance dies."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid

import aiohttp
import redis.asyncio as redis

from rooms.presence import RedisPresenceStore, Viewer, summarize
from tests.conftest import Services
from tests.support import JWT_SECRET, Api, Client, ServerProcess, connect, free_port, make_board, op

TTL = 6  # presence TTL of the servers below, seconds


def _latest(client: Client, project_id: str) -> list[dict]:
    found = [
        d for name, d in client.notices if name == "presence" and d["project_id"] == project_id
    ]
    return found[-1]["viewers"] if found else []


async def _until(client: Client, project_id: str, check, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        viewers = _latest(client, project_id)
        if check(viewers):
            return viewers
        await asyncio.sleep(0.05)
    raise AssertionError(f"presence never matched; last: {_latest(client, project_id)}")


def _names(viewers: list[dict]) -> list[str]:
    return [v["display_name"] for v in viewers]


def test_viewers_are_summarized_per_user_with_what_they_edit():
    viewers = [
        Viewer("s1", "u1", "Bob"),
        Viewer("s2", "u1", "Bob", "t1"),
        Viewer("s3", "u2", "ann", "t2"),
    ]
    assert summarize(viewers) == [
        {"user_id": "u2", "display_name": "ann", "connections": 1, "editing": ["t2"]},
        {"user_id": "u1", "display_name": "Bob", "connections": 2, "editing": ["t1"]},
    ]


async def test_presence_spans_instances_and_follows_joins_edits_leaves_and_crashes(
    services: Services,
):
    ports = [free_port(), free_port(), free_port()]
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-test-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        # Short, for the crash below; long enough that a live viewer whose heartbeat (every
        # third of it) runs a few seconds late on a busy machine does not expire.
        "BOARDROOM_PRESENCE_TTL_SECONDS": str(TTL),
    }
    servers = [await asyncio.to_thread(ServerProcess, port, env) for port in ports]
    store = redis.Redis.from_url(services.redis_url)
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(servers[0].url, http)
            ann, bob, cy = [await api.register(n) for n in ("ann", "bob", "cy")]
            a = await connect(servers[0].url, ann.access_token)
            board = await make_board(a)
            for account in (bob, cy):
                await a.ok(
                    "member:invite",
                    {
                        "op_id": op(),
                        "workspace_id": board.workspace_id,
                        "email": account.email,
                        "role": "member",
                    },
                )
            b = await connect(servers[1].url, bob.access_token)
            c = await connect(servers[2].url, cy.access_token)
            pid = board.project_id
            # Where the instances keep the project's viewers, each scored by when it expires.
            alive = f"{env['BOARDROOM_REDIS_CHANNEL']}:presence:{pid}:alive"
            for client in (a, b, c):
                await client.ok("project:join", {"project_id": pid})
            everyone = await _until(a, pid, lambda v: _names(v) == ["Ann", "Bob", "Cy"])
            assert all(v["editing"] == [] and v["connections"] == 1 for v in everyone)

            task = await a.ok(
                "task:create",
                {"op_id": op(), "project_id": pid, "column_id": board.column_id, "title": "x"},
            )
            task_id = task["data"]["id"]
            await b.ok("presence:set", {"project_id": pid, "editing_task_id": task_id})
            seen = await _until(a, pid, lambda v: any(u["editing"] == [task_id] for u in v))
            assert [u["display_name"] for u in seen if u["editing"]] == ["Bob"]
            await b.ok("presence:set", {"project_id": pid, "editing_task_id": None})
            await _until(a, pid, lambda v: all(u["editing"] == [] for u in v) and len(v) == 3)

            # Leaving the room, and a clean disconnect, take effect at once: the entry is gone
            # by the answer, not left to expire; the others hear of it.
            assert await store.zscore(alive, b.sio.get_sid()) is not None
            await b.ok("project:leave", {"project_id": pid})
            assert await store.zscore(alive, b.sio.get_sid()) is None
            await _until(a, pid, lambda v: _names(v) == ["Ann", "Cy"])
            # Only a joined connection can say what it edits.
            refused = await b.call("presence:set", {"project_id": pid})
            assert refused["error"]["code"] == "not_found"

            # An instance that dies says nothing: its viewer expires by the TTL its last
            # heartbeat set, and only then is it gone.
            viewer = c.sio.get_sid()
            servers[2].process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(servers[2].process.wait)
            died = time.time()
            expires = await store.zscore(alive, viewer)
            assert expires is not None and expires <= died + TTL
            await _until(a, pid, lambda v: _names(v) == ["Ann"], timeout=TTL + 30)
            assert time.time() >= expires
            for client in (a, b):
                await client.sio.disconnect()
    finally:
        await store.aclose()
        for server in servers:
            await asyncio.to_thread(server.stop)


async def test_the_heartbeat_refreshes_many_viewers_in_batches(services: Services) -> None:
    """put_many keeps every viewer of every project, across several Redis round trips."""
    client = redis.Redis.from_url(services.redis_url)
    store = RedisPresenceStore(client, f"boardroom-test-{uuid.uuid4().hex[:8]}", ttl=15)
    projects = [str(uuid.uuid4()) for _ in range(3)]
    entries = [
        (projects[n % 3], Viewer(f"sid{n}", f"user{n % 7}", f"User {n % 7}")) for n in range(1201)
    ]
    try:
        now = time.time()
        await store.put_many(entries, now + 15)
        for project_id in projects:
            viewers, pruned = await store.viewers(project_id, now)
            expected = {viewer.sid for p, viewer in entries if p == project_id}
            assert {viewer.sid for viewer in viewers} == expected and pruned == 0
        # Refreshed entries that then expire are pruned, all of them.
        await store.put_many(entries, now - 1)
        assert [len((await store.viewers(p, now))[0]) for p in projects] == [0, 0, 0]
    finally:
        await client.aclose()
