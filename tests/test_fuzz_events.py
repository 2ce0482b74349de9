"""Every Socket.IO event, sent arbitrary and edge-of-range payloads (hypothesis): the answer is
a typed ack, never ``internal``, and the server stays up. (REST routes get the same from
schemathesis and the OpenAPI document, tests/test_schemathesis.py.)

Fields are filled from their names and schemas in each event's command model: ids from a real
board (so validation passes and the service runs) or random, and every other value from JSON
of any shape or from a list of boundary values: 64-bit edges and beyond, empty and huge
strings, NUL, dates at and past the edges of the calendar, deep nesting.

The suite sends the same 25 payloads per event on every run; for a deeper search,
``FUZZ_EXAMPLES=200 FUZZ_RANDOM=1 scripts/test tests/test_fuzz_events.py`` (about a minute:
10,600 payloads found nothing on 2026-12-01).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.socket_events import EVENTS
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

EDGES: list[Any] = [
    0,
    -1,
    2**31,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**40,
    1.5,
    1e308,
    "",
    " ",
    "x" * 5_000,
    "\u0000",
    "\U0001f600" * 50,
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+00:00",
    "2026-01-01T00:00:00",
    "not a date",
    True,
    False,
    None,
    [],
    {},
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _field(name: str, ids: list[str]) -> st.SearchStrategy[Any]:
    if name.endswith("_id") or name == "ids":
        single = st.sampled_from(ids) | st.uuids().map(str) | st.sampled_from(EDGES)
        return st.lists(single, max_size=3) if name == "ids" else single
    if name == "op_id":
        return st.uuids().map(str) | st.sampled_from(EDGES)
    return st.sampled_from(EDGES) | JSON


def _payload(event: str, ids: list[str]) -> st.SearchStrategy[Any]:
    schema = EVENTS[event].model.model_json_schema()
    fields = schema.get("properties", {})
    required = set(schema.get("required", []))
    shaped = st.fixed_dictionaries(
        {name: _field(name, ids) for name in fields if name in required},
        optional={name: _field(name, ids) for name in fields if name not in required},
    )
    return shaped | JSON  # now and then, not even an object


@pytest.fixture(scope="module")
def fuzz_server(services: Services) -> Iterator[ServerProcess]:
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-fuzz-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        **UNLIMITED_RATES,
    }
    server = ServerProcess(free_port(), env)
    yield server
    server.stop()


# Leaving the workspace or ending the session would only make the rest not_found/unauthorized.
FUZZED = sorted(set(EVENTS) - {"workspace:leave", "session:renew"})


@pytest.mark.parametrize("event", FUZZED)
def test_no_payload_gets_an_internal_error(fuzz_server: ServerProcess, event: str) -> None:
    loop = Loop()
    try:
        client, ids = loop.run(_client_with_a_board(fuzz_server.url))

        @settings(
            max_examples=int(os.environ.get("FUZZ_EXAMPLES", "25")),
            deadline=None,
            derandomize=not os.environ.get("FUZZ_RANDOM"),  # reproducible unless asked
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(_payload(event, ids))
        def sends(payload: Any) -> None:
            reply = loop.run(client.call(event, payload, timeout=30))
            assert isinstance(reply, dict) and "ok" in reply, reply
            if not reply["ok"]:
                assert reply["error"]["code"] != "internal", (event, payload, reply)
                assert reply["error"]["message"]

        sends()
        assert loop.run(client.call("workspace:list", {}))["ok"]  # still serving
        loop.run(client.disconnect())
    finally:
        loop.close()


async def _client_with_a_board(url: str) -> tuple[socketio.AsyncClient, list[str]]:
    import aiohttp

    from tests.support import connect

    async with aiohttp.ClientSession() as http:
        account = await Api(url, http).register("fuzzer")
    client = await connect(url, account.access_token)
    board = await make_board(client)
    task = await client.ok(
        "task:create",
        {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id, "title": "t"},
    )
    ids = [board.workspace_id, board.project_id, board.column_id, task["data"]["id"]]
    ids.append(account.user_id)
    return client.sio, ids
