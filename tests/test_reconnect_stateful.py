"""Hypothesis explores connect / emit / disconnect / reconnect sequences of several clients of
one board (issue 5, item 1). After catch-up, every connected client's board equals the
database, and no client ever applied an event twice or skipped one.

The server runs in its own process; the clients run on an event loop in a background thread,
because Hypothesis drives state machines synchronously.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest
import socketio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.conftest import Services
from tests.support import (
    JWT_SECRET,
    UNLIMITED_RATES,
    Api,
    Loop,
    ServerProcess,
    free_port,
    make_board,
    op,
)

T = TypeVar("T")
CLIENTS = 3
CATCH_UP = 30  # seconds a replica may take to receive the live events of the acks


class Replica:
    """A client's copy of the board, kept the way docs/protocol.md tells clients to."""

    def __init__(self) -> None:
        self.tasks: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.seq = 0
        self.applied: list[int] = []
        self.buffer: dict[int, dict[str, Any]] = {}
        self.sio: socketio.AsyncClient | None = None
        self.joined = False

    def receive(self, event: dict[str, Any]) -> None:
        if event["seq"] <= self.seq:
            return  # already in the snapshot or applied: dropped, as the protocol says
        self.buffer[event["seq"]] = event
        while self.seq + 1 in self.buffer:
            self._apply(self.buffer.pop(self.seq + 1))

    def _apply(self, event: dict[str, Any]) -> None:
        data = event["data"]
        if event["type"] in ("task.created", "task.updated"):
            self.tasks[data["task"]["id"]] = data["task"]["title"]
            self.versions[data["task"]["id"]] = data["task"]["version"]
        elif event["type"] == "task.deleted":
            self.tasks.pop(data["task_id"], None)
        self.applied.append(event["seq"])
        self.seq = event["seq"]

    def load(self, snapshot: dict[str, Any]) -> None:
        self.tasks = {t["id"]: t["title"] for t in snapshot["tasks"]}
        self.versions = {t["id"]: t["version"] for t in snapshot["tasks"]}
        self.seq = snapshot["seq"]
        self.applied.append(-self.seq)  # marks a reset point in the history
        self.buffer = {s: e for s, e in self.buffer.items() if s > self.seq}
        while self.seq + 1 in self.buffer:
            self._apply(self.buffer.pop(self.seq + 1))


@pytest.fixture(scope="module")
def board_server(services: Services) -> Iterator[ServerProcess]:
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-test-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        **UNLIMITED_RATES,
        # A small window, so that some runs come back past it and must converge by reset.
        "BOARDROOM_REPLAY_WINDOW_EVENTS": "5",
    }
    server = ServerProcess(free_port(), env)
    yield server
    server.stop()


def test_clients_converge_to_the_database_whatever_the_sequence(
    board_server: ServerProcess, services: Services
) -> None:
    loop = Loop()
    try:
        run_machine(loop, board_server.url, services.database_url)
    finally:
        loop.close()


def run_machine(loop: Loop, url: str, database_url: str) -> None:
    class Board(RuleBasedStateMachine):
        @initialize()
        def make(self) -> None:
            self.replicas = [Replica() for _ in range(CLIENTS)]
            self.token, board = loop.run(_setup(url))
            self.project_id = board.project_id
            self.column_id = board.column_id

        @rule(i=st.integers(0, CLIENTS - 1))
        def connect(self, i: int) -> None:
            replica = self.replicas[i]
            if replica.sio is None:
                loop.run(_connect(url, self.token, replica, self.project_id))

        @rule(i=st.integers(0, CLIENTS - 1))
        def disconnect(self, i: int) -> None:
            replica = self.replicas[i]
            if replica.sio is not None:
                loop.run(replica.sio.disconnect())
                replica.sio, replica.joined = None, False

        @precondition(lambda self: any(r.joined for r in self.replicas))
        @rule(
            i=st.integers(0, CLIENTS - 1),
            action=st.sampled_from(["create", "create", "rename", "delete"]),
            count=st.integers(1, 4),
        )
        def emit(self, i: int, action: str, count: int) -> None:
            replica = self.replicas[i]
            if not replica.joined:
                return
            for _ in range(count):
                loop.run(_emit(replica, action, self.project_id, self.column_id))

        @invariant()
        def converged(self) -> None:
            if not hasattr(self, "replicas"):
                return
            expected, last_seq = loop.run(_database(database_url, self.project_id))
            for replica in self.replicas:
                if not replica.joined:
                    continue
                loop.run(_caught_up(replica, last_seq), timeout=CATCH_UP + 10)
                assert replica.tasks == expected
                steps = [s for s in replica.applied if s > 0]
                assert len(steps) == len(set(steps)), "an event was applied twice"
                _assert_gapless(replica.applied)

        def teardown(self) -> None:
            for replica in getattr(self, "replicas", []):
                if replica.sio is not None:
                    loop.run(replica.sio.disconnect())

    Board.TestCase.settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    Board.TestCase().runTest()


def _assert_gapless(history: list[int]) -> None:
    """Between resets (negative marks: snapshot at that seq), seqs follow each other by one."""
    current = None
    for step in history:
        if step <= 0:
            current = -step
            continue
        assert current is not None and step == current + 1, f"gap before {step}: {history}"
        current = step


async def _setup(url: str) -> tuple[str, Any]:
    from tests.support import connect

    async with aiohttp.ClientSession() as http:
        account = await Api(url, http).register("hypo")
    client = await connect(url, account.access_token)
    try:
        board = await make_board(client)
    finally:
        await client.sio.disconnect()
    return account.access_token, board


async def _connect(url: str, token: str, replica: Replica, project_id: str) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("event", replica.receive)
    await sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    replica.sio = sio
    payload: dict[str, Any] = {"project_id": project_id}
    if replica.joined or replica.applied:
        payload["since_seq"] = replica.seq
    reply = await sio.call("project:join", payload, timeout=10)
    assert reply["ok"], reply
    data = reply["data"]
    if data["mode"] == "replay":
        for event in data["events"]:
            replica.receive(event)
    else:
        replica.load(data)
    replica.joined = True


async def _emit(replica: Replica, action: str, project_id: str, column_id: str) -> None:
    assert replica.sio is not None
    known = sorted(replica.tasks)
    if action == "create" or not known:
        payload = {
            "op_id": op(),
            "project_id": project_id,
            "column_id": column_id,
            "title": f"t{time.monotonic_ns() % 100000}",
        }
        reply = await replica.sio.call("task:create", payload, timeout=10)
    elif action == "rename":
        payload = {
            "op_id": op(),
            "project_id": project_id,
            "task_id": known[0],
            "base_version": replica.versions[known[0]],
            "title": f"r{time.monotonic_ns() % 100000}",
        }
        reply = await replica.sio.call("task:update", payload, timeout=10)
    else:
        payload = {"op_id": op(), "project_id": project_id, "task_id": known[-1]}
        reply = await replica.sio.call("task:delete", payload, timeout=10)
    # A stale view (another client deleted or renamed the task first) is answered not_found or
    # conflict: both are fine, and change nothing.
    assert reply["ok"] or reply["error"]["code"] in ("not_found", "conflict"), reply


async def _database(database_url: str, project_id: str) -> tuple[dict[str, str], int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id::text, title FROM tasks WHERE project_id = $1", uuid.UUID(project_id)
        )
        last_seq = await conn.fetchval(
            "SELECT last_seq FROM projects WHERE id = $1", uuid.UUID(project_id)
        )
    finally:
        await conn.close()
    return {r["id"]: r["title"] for r in rows}, int(last_seq)


async def _caught_up(replica: Replica, last_seq: int) -> None:
    """Live events are in flight for a moment after the acks: wait for them (up to
    ``CATCH_UP`` seconds; the board comparison after says what is missing)."""
    deadline = time.monotonic() + CATCH_UP
    while replica.seq < last_seq and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)
