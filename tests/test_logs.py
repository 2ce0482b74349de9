"""Structured logs (issue 6, item 1): one JSON object per line with the correlation fields of
the request, and never a password or a token, checked on a real server's output."""

from __future__ import annotations

import contextvars
import logging
import sys

import aiohttp
import orjson

from application.context import set_request
from domain.integration import Origin
from realtime.logs import JsonFormatter
from tests.span_collector import SpanCollector
from tests.support import JWT_SECRET, Api, ServerProcess, connect, free_port, make_board, op


def test_a_record_becomes_one_json_line_with_the_request_fields():
    # In a context of its own, so the request set here does not leak into later tests.
    contextvars.copy_context().run(_format_one_record)


def _format_one_record() -> None:
    set_request(Origin(transport="rest"), "req-1", user_id="u1", event="task:create")
    try:
        raise ValueError("boom")
    except ValueError:
        failure = sys.exc_info()
        record = logging.getLogger("t").makeRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "failed %s",
            ("x",),
            exc_info=failure,
            extra={"duration_ms": 1.5},
        )
    line = JsonFormatter().format(record)
    entry = orjson.loads(line)
    assert "\n" not in line
    assert entry["level"] == "error" and entry["logger"] == "t"
    assert entry["message"] == "failed x" and entry["ts"].endswith("+00:00")
    assert entry["correlation_id"] == "req-1" and entry["user_id"] == "u1"
    assert entry["event"] == "task:create" and entry["duration_ms"] == 1.5
    assert "ValueError: boom" in entry["exc"]


async def test_server_logs_are_json_with_correlation_and_no_secrets(services):
    collector = SpanCollector()
    collector.start()
    env = collector.env() | {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        "BOARDROOM_LOG_LEVEL": "debug",
        "BOARDROOM_LOG_FORMAT": "json",
    }
    server = ServerProcess(free_port(), env)
    secrets: list[str] = [JWT_SECRET]
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(server.url, http)
            account = await api.register("logan")
            secrets += [account.password, account.access_token, account.refresh_token]
            status, _ = await api.post(
                "/api/v1/auth/login", {"email": account.email, "password": "wrong password 9"}
            )
            assert status == 401
            secrets.append("wrong password 9")
            status, body = await api.post(
                "/api/v1/auth/refresh", {"refresh_token": account.refresh_token}
            )
            assert status == 200
            secrets += [body["access_token"], body["refresh_token"]]
            client = await connect(server.url, body["access_token"])
            board = await make_board(client)
            task_op = op()
            await client.ok(
                "task:create",
                {
                    "op_id": task_op,
                    "project_id": board.project_id,
                    "column_id": board.column_id,
                    "title": "logged",
                },
            )
            await client.sio.disconnect()
    finally:
        server.stop()  # exporting what it still holds
        collector.stop()
    output = server.process.stderr.read().decode()  # type: ignore[union-attr]
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [orjson.loads(line) for line in lines]  # every line is one JSON object
    assert all({"ts", "level", "logger", "message"} <= e.keys() for e in entries)
    for secret in secrets:
        assert secret not in output, "a secret reached the logs"

    login = [e for e in entries if e.get("path") == "/api/v1/auth/login"]
    assert login and login[0]["status"] == 401 and login[0]["correlation_id"]
    handled = [e for e in entries if e.get("event") == "task:create" and "outcome" in e]
    assert handled, "no line for the handled event"
    assert handled[0]["op_id"] == task_op and handled[0]["project_id"] == board.project_id
    assert handled[0]["outcome"] == "ok" and handled[0]["sid"] and handled[0]["user_id"]

    # Log lines carry the ids of the span they were written in (ADR 0028), and spans carry
    # no secret either (SQL is recorded with placeholders, never parameter values).
    spans = {s.span_id: s for s in collector.spans()}
    for entry, name in ((login[0], "POST /api/v1/auth/login"), (handled[0], "task:create")):
        span = spans[entry["span_id"]]
        assert (span.name, span.trace_id) == (name, entry["trace_id"])
    recorded = repr([(s.name, s.attributes) for s in spans.values()])
    assert "INSERT" in recorded
    for secret in secrets:
        assert secret not in recorded, "a secret reached a span"
