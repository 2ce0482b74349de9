"""Graceful degradation (issue 5, item 5): each test stops and restarts a real service during
activity. PostgreSQL, Redis and the broker here are the test's own embedded instances, so
stopping them disturbs nothing else. Every test ends by checking that nothing acknowledged was
lost or applied twice and that clients converge to the database."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from persistence.migrator import migrate
from realtime.app import create_app
from realtime.embedded import EmbeddedKafka, EmbeddedPostgres, EmbeddedRedis
from tests.conftest import Services, app_settings
from tests.pipeline_support import eventually
from tests.support import (
    JWT_SECRET,
    UNLIMITED_RATES,
    Api,
    ServerProcess,
    connect,
    create_task,
    free_port,
    make_board,
    op,
)


@pytest.fixture
def own_postgres() -> Iterator[tuple[EmbeddedPostgres, Path]]:
    data_dir = Path(tempfile.mkdtemp(prefix="boardroom-fault-pg-"))
    server = EmbeddedPostgres(data_dir)
    try:
        yield server, data_dir
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_postgres_down_answers_unavailable_at_once_and_the_server_recovers_by_itself(
    own_postgres: tuple[EmbeddedPostgres, Path], services: Services, aiohttp_server: Any
) -> None:
    postgres, _ = own_postgres
    database_url = await asyncio.to_thread(postgres.start)
    await migrate(database_url)
    server = await aiohttp_server(await create_app(app_settings(database_url, services.redis_url)))
    url = str(server.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as http:
        api = Api(url, http)
        account = await api.register("owner")
        client = await connect(url, account.access_token)
        board = await make_board(client)
        acknowledged = []

        async def create(title: str, op_id: str | None = None) -> dict[str, Any]:
            payload = {
                "op_id": op_id or op(),
                "project_id": board.project_id,
                "column_id": board.column_id,
                "title": title,
            }
            reply = await client.call("task:create", payload, timeout=30)
            if reply["ok"]:
                acknowledged.append(reply["data"]["id"])
            return reply

        assert (await create("before"))["ok"]
        await asyncio.to_thread(postgres.stop)

        started = time.monotonic()
        retried_op = op()
        refused = await create("during", retried_op)
        assert time.monotonic() - started < 5, "no hang: the answer comes at once"
        assert refused["error"]["code"] == "unavailable", refused
        assert refused["error"]["details"]["retry_after"] > 0
        status, body = await api.post(
            "/api/v1/auth/login", {"email": account.email, "password": account.password}
        )
        assert status == 503 and body["error"]["code"] == "unavailable"
        async with http.get(f"{url}/readyz") as resp:
            assert resp.status == 503 and (await resp.json())["database"] == "down"

        await asyncio.to_thread(postgres.start)
        # No restart, no intervention: the pool replaces its broken connections.
        recovered = await eventually(
            lambda: create("during", retried_op),
            lambda r: r["ok"],
            timeout=20,
            what="operations succeed again",
        )
        again = await create("during", retried_op)  # the client's retry, once more
        assert again == recovered  # applied once, answered the same
        async with http.get(f"{url}/readyz") as resp:
            assert resp.status == 200
        await client.sio.disconnect()

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetch("SELECT id::text, title FROM tasks ORDER BY created_at")
        seqs = [
            r["seq"]
            for r in await conn.fetch(
                "SELECT seq FROM project_events WHERE project_id = $1 ORDER BY seq",
                uuid.UUID(board.project_id),
            )
        ]
    finally:
        await conn.close()
    assert [r["title"] for r in stored] == ["before", "during"]
    assert sorted(r["id"] for r in stored) == sorted(set(acknowledged))
    assert seqs == list(range(1, len(seqs) + 1))  # the log stayed gapless


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(port=free_port())
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


async def test_redis_down_keeps_local_clients_live_and_others_catch_up_by_seq(
    services: Services, own_redis: EmbeddedRedis
) -> None:
    redis_url = f"redis://127.0.0.1:{own_redis.port}/0"
    ports = [free_port(), free_port()]
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": redis_url,
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-test-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        **UNLIMITED_RATES,
    }
    servers = [await asyncio.to_thread(ServerProcess, port, env) for port in ports]
    try:
        async with aiohttp.ClientSession() as http:
            account = await Api(servers[0].url, http).register("owner")
            near = await connect(servers[0].url, account.access_token)
            far = await connect(servers[1].url, account.access_token)
            board = await make_board(near)
            joined = await far.ok("project:join", {"project_id": board.project_id})
            await near.ok("project:join", {"project_id": board.project_id})
            last_seen = joined["data"]["seq"]

            async def create(title: str) -> int:
                reply = await near.ok(
                    "task:create",
                    {
                        "op_id": op(),
                        "project_id": board.project_id,
                        "column_id": board.column_id,
                        "title": title,
                    },
                )
                return int(reply["seq"])

            await asyncio.to_thread(own_redis.stop)
            outage_started = time.monotonic()
            during = [await create(f"during {i}") for i in range(3)]
            # Same instance: live as ever. Other instance: nothing arrives over Redis.
            for seq in during:
                await near.wait_for_event(lambda e, s=seq: e["seq"] == s)
            await asyncio.sleep(0.5)
            assert not [e for e in far.events if e["seq"] in during]
            async with http.get(f"{servers[0].url}/readyz") as resp:
                assert resp.status == 503 and (await resp.json())["redis"] == "down"

            async def readiness() -> dict[str, Any]:
                async with http.get(f"{servers[1].url}/readyz") as resp:
                    return {**(await resp.json()), "http": resp.status}

            # Readiness tells that messages from the other instance do not arrive.
            await eventually(
                readiness, lambda r: r.get("redis_listener") == "down", what="listener down"
            )
            # A long outage: python-socketio's own listener would be waiting 16 s by now.
            await asyncio.sleep(max(0.0, 16 - (time.monotonic() - outage_started)))
            await asyncio.to_thread(own_redis.start)  # same port
            # The listeners come back within moments of Redis, not after a growing backoff.
            await eventually(readiness, lambda r: r["http"] == 200, timeout=10, what="ready")
            probe = await eventually(
                lambda: create("after"),
                lambda seq: any(e["seq"] == seq for e in far.events),
                timeout=10,
                what="live delivery across instances again",
            )
            # The far client repairs its gap the documented way: rejoin with its last seq.
            missed = await far.ok(
                "project:join", {"project_id": board.project_id, "since_seq": last_seen}
            )
            replayed = [e["seq"] for e in missed["data"]["events"]]
            assert missed["data"]["mode"] == "replay"
            assert replayed == list(range(last_seen + 1, missed["data"]["seq"] + 1))
            assert set(during) <= set(replayed) and probe <= replayed[-1]
            for client in (near, far):
                await client.sio.disconnect()
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    broker = EmbeddedKafka(port=free_port())
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
async def kafka_app(
    services: Services, own_broker: EmbeddedKafka, aiohttp_server: Any
) -> AsyncIterator[tuple[str, str]]:
    """An in-process server relaying to ``own_broker``: (its URL, its project-events topic)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = app_settings(
        services.database_url,
        services.redis_url,
        kafka_url=f"kafka://127.0.0.1:{own_broker.port}",
        kafka_topic_prefix=prefix,
        kafka_partitions=2,
    )
    server = await aiohttp_server(await create_app(settings))
    yield str(server.make_url("")).rstrip("/"), f"{prefix}.project-events"


async def test_broker_down_leaves_operations_unaffected_and_the_outbox_drains_after(
    kafka_app: tuple[str, str], own_broker: EmbeddedKafka
) -> None:
    url, topic = kafka_app
    async with aiohttp.ClientSession() as http:

        async def outbox() -> dict[str, Any]:
            async with http.get(f"{url}/readyz") as resp:
                assert resp.status == 200  # the broker never gates readiness
                return dict((await resp.json())["outbox"])

        account = await Api(url, http).register("owner")
        client = await connect(url, account.access_token)
        board = await make_board(client)
        await eventually(
            outbox,
            lambda o: o["relay"] == "leading" and o["count"] == 0,
            what="relay leading and idle",
        )
        await asyncio.to_thread(own_broker.stop)
        during = []
        for i in range(5):
            started = time.monotonic()
            reply = await client.ok(
                "task:create",
                {
                    "op_id": op(),
                    "project_id": board.project_id,
                    "column_id": board.column_id,
                    "title": f"during {i}",
                },
            )
            assert time.monotonic() - started < 2, "the broker is not on the operation's path"
            during.append(reply["seq"])
        waiting = await outbox()
        assert waiting["count"] >= 5

        await asyncio.to_thread(own_broker.start)  # same port, empty: memory storage
        await eventually(outbox, lambda o: o["count"] == 0, timeout=60, what="backlog drained")
        await client.sio.disconnect()

    # Every event of the outage is on the topic, in seq order for its project.
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=f"127.0.0.1:{own_broker.port}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        # Created by the relay (2 partitions), not auto-created by the restarted broker (4).
        assert consumer.partitions_for_topic(topic) == {0, 1}
        seen: list[int] = []
        async with asyncio.timeout(30):
            while not set(during) <= set(seen):
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        event = orjson.loads(record.value)
                        if event["project_id"] == board.project_id:
                            seen.append(event["seq"])
    finally:
        await consumer.stop()
    assert [s for s in seen if s in during] == during


async def test_a_connection_dropped_under_a_transaction_counts_as_the_database_going_away(
    services: Services,
) -> None:
    """asyncpg reports a connection the server dropped under an open transaction as a plain
    ``InterfaceError`` ("connection is closed") at the next statement or at COMMIT; that must
    answer ``unavailable`` (clients retry it), not ``internal`` (they do not)."""
    from handlers.errors import as_boardroom_error
    from persistence.errors import database_unavailable

    victim = await asyncpg.connect(services.database_url)
    killer = await asyncpg.connect(services.database_url)
    caught: list[BaseException] = []
    try:
        for statement in ("SELECT 1", None):  # the next query, and the COMMIT itself
            transaction = victim.transaction()
            await transaction.start()
            await victim.execute("SELECT 1")
            dropped = asyncio.Event()
            victim.add_termination_listener(lambda _, hung_up=dropped: hung_up.set())
            await killer.execute("SELECT pg_terminate_backend($1)", victim.get_server_pid())
            # Once the client has seen the server hang up (as a pool's connection has when its
            # next operation comes), the statement fails at once instead of racing the notice.
            await asyncio.wait_for(dropped.wait(), timeout=10)
            with pytest.raises(Exception) as raised:
                if statement:
                    await victim.execute(statement)
                await transaction.commit()
            caught.append(raised.value)
            await victim.close()
            victim = await asyncpg.connect(services.database_url)
    finally:
        await victim.close()
        await killer.close()
    for exc in caught:
        assert database_unavailable(exc), repr(exc)
        assert as_boardroom_error(exc).code == "unavailable"  # type: ignore[arg-type]
    # Any other interface error is a defect of ours, not an outage.
    misuse = asyncpg.InterfaceError("cannot perform operation: another operation is in progress")
    assert not database_unavailable(misuse)


async def test_revocations_made_while_redis_is_down_still_reach_the_other_instance(
    services: Services, own_redis: EmbeddedRedis
) -> None:
    """A member removed and a login ended through one instance while Redis is down: the
    messages that would have told the other instance are lost, so when its listener comes
    back it checks its sockets against the database. The removed member's socket leaves the
    room (and hears why) and receives nothing after; the ended login's socket is disconnected."""
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{own_redis.port}/0",
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-test-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
    }
    near_server, far_server = [
        await asyncio.to_thread(ServerProcess, free_port(), env) for _ in range(2)
    ]
    try:
        async with aiohttp.ClientSession() as http:
            near_api = Api(near_server.url, http)
            owner = await near_api.register("owner")
            bob = await near_api.register("bob")
            status, second_login = await near_api.post(
                "/api/v1/auth/login", {"email": bob.email, "password": bob.password}
            )
            assert status == 200
            owner_near = await connect(near_server.url, owner.access_token)
            owner_far = await connect(far_server.url, owner.access_token)
            board = await make_board(owner_near)
            await owner_near.ok(
                "member:invite",
                {
                    "op_id": op(),
                    "workspace_id": board.workspace_id,
                    "email": bob.email,
                    "role": "member",
                },
            )
            bob_far = await connect(far_server.url, bob.access_token)
            bob_other_login = await connect(far_server.url, second_login["access_token"])
            for client in (owner_far, bob_far):
                await client.ok("project:join", {"project_id": board.project_id})

            await asyncio.to_thread(own_redis.stop)
            removed = await owner_near.call(
                "member:remove",
                {"op_id": op(), "workspace_id": board.workspace_id, "user_id": bob.user_id},
            )
            assert removed["ok"], removed  # committed: the database is the source of truth
            status, _ = await near_api.post(
                "/api/v1/auth/logout", {"refresh_token": second_login["refresh_token"]}
            )
            assert status == 204
            await asyncio.to_thread(own_redis.start)

            notice = await bob_far.wait_for_notice("access:revoked", timeout=30)
            assert board.project_id in notice["project_ids"]
            await eventually(
                lambda: asyncio.sleep(0, bob_other_login.sio.connected),
                lambda connected: not connected,
                what="the ended login disconnected",
            )
            # Nothing of the project reaches bob any more: the owner's far socket, in the same
            # room on the same instance, is the barrier.
            created = await create_task(owner_near, board, "after the outage")
            await owner_far.wait_for_event(lambda e: e["seq"] == created["seq"], timeout=30)
            assert not [e for e in bob_far.events if e["seq"] == created["seq"]]
            for client in (owner_near, owner_far, bob_far):
                await client.sio.disconnect()
    finally:
        for server in (near_server, far_server):
            await asyncio.to_thread(server.stop)
