"""Bad Socket.IO input: each case is answered with its code and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.support import make_board, op

TABLES = ("workspaces", "projects", "columns", "tasks", "project_events")


async def _state(db) -> dict:
    counts = {t: await db.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    counts["seqs"] = await db.fetchval("SELECT coalesce(sum(last_seq), 0) FROM projects")
    counts["versions"] = await db.fetchval(
        "SELECT coalesce(sum(version), 0) FROM tasks"
    ) + await db.fetchval("SELECT coalesce(sum(version), 0) FROM columns")
    return counts


@pytest.fixture
async def setup(api, client_factory):
    account = await api.register("ann")
    client = await client_factory(account.access_token)
    board = await make_board(client)
    task = await client.ok(
        "task:create",
        {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id, "title": "t"},
    )
    return client, board, task["data"]["id"]


def _cases(board, task_id):
    pid, cid = board.project_id, board.column_id
    missing = str(uuid.uuid4())
    return [
        # (event, payload, code, offending field)
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": 5},
            "invalid_payload",
            "title",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid},
            "invalid_payload",
            "title",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "x" * 501},
            "invalid_payload",
            "title",
        ),
        (
            # PostgreSQL cannot store NUL: refused at validation, never a database error
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "a\u0000b"},
            "invalid_payload",
            "title",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "   "},
            "invalid_payload",
            "title",
        ),
        (
            "task:create",
            {
                "op_id": op(),
                "project_id": pid,
                "column_id": cid,
                "title": "t",
                "description": "d" * 20_001,
            },
            "invalid_payload",
            "description",
        ),
        (
            "task:create",
            {"project_id": pid, "column_id": cid, "title": "t"},
            "invalid_payload",
            "op_id",
        ),
        (
            "task:create",
            {"op_id": "has spaces", "project_id": pid, "column_id": cid, "title": "t"},
            "invalid_payload",
            "op_id",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": "not-a-uuid", "column_id": cid, "title": "t"},
            "invalid_payload",
            "project_id",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "t", "colour": "red"},
            "invalid_payload",
            "colour",
        ),
        ("task:create", ["not", "an", "object"], "invalid_payload", "(payload)"),
        ("task:create", "a string", "invalid_payload", "(payload)"),
        (
            "task:update",
            {"op_id": op(), "project_id": pid, "task_id": task_id, "base_version": 1},
            "invalid_payload",
            "title",
        ),
        (
            "column:create",
            {"op_id": op(), "project_id": pid, "name": "n" * 101},
            "invalid_payload",
            "name",
        ),
        ("workspace:create", {"op_id": op(), "name": ""}, "invalid_payload", "name"),
        (
            "task:create",
            {"op_id": op(), "project_id": missing, "column_id": cid, "title": "t"},
            "not_found",
            "project_id",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": missing, "title": "t"},
            "not_found",
            "column_id",
        ),
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "t", "after_id": missing},
            "not_found",
            "after_id",
        ),
        (
            "task:update",
            {"op_id": op(), "project_id": pid, "task_id": missing, "base_version": 1, "title": "t"},
            "not_found",
            "task_id",
        ),
        (
            "task:move",
            {
                "op_id": op(),
                "project_id": pid,
                "task_id": task_id,
                "column_id": missing,
                "after_id": None,
            },
            "not_found",
            "column_id",
        ),
        (
            "task:move",
            {
                "op_id": op(),
                "project_id": pid,
                "task_id": task_id,
                "column_id": cid,
                "after_id": task_id,
            },
            "not_found",
            "after_id",
        ),
        (
            "task:delete",
            {"op_id": op(), "project_id": pid, "task_id": missing},
            "not_found",
            "task_id",
        ),
        (
            "column:rename",
            {
                "op_id": op(),
                "project_id": pid,
                "column_id": missing,
                "base_version": 1,
                "name": "x",
            },
            "not_found",
            "column_id",
        ),
        (
            "column:delete",
            {"op_id": op(), "project_id": pid, "column_id": missing},
            "not_found",
            "column_id",
        ),
        ("project:join", {"project_id": missing}, "not_found", "project_id"),
        ("project:list", {"workspace_id": missing}, "not_found", "workspace_id"),
        # Edge of range: refused by validation, never an error of the database or the runtime.
        ("project:join", {"project_id": pid, "since_seq": 2**64}, "invalid_payload", "since_seq"),
        (
            "project:history",
            {"project_id": pid, "before_seq": 2**70},
            "invalid_payload",
            "before_seq",
        ),
        (
            "task:update",
            {"op_id": op(), "project_id": pid, "task_id": task_id, "base_version": 2**40},
            "invalid_payload",
            "base_version",
        ),
        *[
            (
                "task:update",
                {
                    "op_id": op(),
                    "project_id": pid,
                    "task_id": task_id,
                    "base_version": 1,
                    "due_at": due,
                },
                "invalid_payload",
                "due_at",
            )
            # beyond year 9999 once in UTC; the very first instant; the last one Python has
            for due in ("9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z")
        ],
        (
            "task:create",
            {"op_id": op(), "project_id": pid, "column_id": cid, "title": "deep", "x": _deep(100)},
            "invalid_payload",
            "(payload)",
        ),
    ]


def _deep(levels: int) -> object:
    value: object = 1
    for _ in range(levels):
        value = [value]
    return value


async def test_every_bad_input_has_its_code_and_changes_nothing(setup, db):
    client, board, task_id = setup
    for event, payload, code, field in _cases(board, task_id):
        before = await _state(db)
        reply = await client.call(event, payload)
        assert reply["ok"] is False, (event, payload, reply)
        assert reply["error"]["code"] == code, (event, payload, reply)
        assert reply["error"]["message"]
        details = reply["error"]["details"]
        fields = [d["field"] for d in details] if isinstance(details, list) else [details["field"]]
        assert field in fields, (event, payload, reply)
        assert await _state(db) == before, (event, payload)


async def test_ids_of_another_workspace_are_not_found_and_untouched(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    mallory = await client_factory((await api.register("mallory")).access_token)
    board = await make_board(ann)
    task = await ann.ok(
        "task:create",
        {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id, "title": "t"},
    )
    own = await make_board(mallory)
    attempts = [
        ("project:join", {"project_id": board.project_id}),
        ("project:list", {"workspace_id": board.workspace_id}),
        ("project:create", {"op_id": op(), "workspace_id": board.workspace_id, "name": "x"}),
        (
            "task:update",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "base_version": 1,
                "task_id": task["data"]["id"],
                "title": "pwned",
            },
        ),
        (
            "task:delete",
            {"op_id": op(), "project_id": board.project_id, "task_id": task["data"]["id"]},
        ),
        (
            "column:delete",
            {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id},
        ),
        # Ann's task addressed through Mallory's own project: still not found.
        (
            "task:update",
            {
                "op_id": op(),
                "project_id": own.project_id,
                "base_version": 1,
                "task_id": task["data"]["id"],
                "title": "pwned",
            },
        ),
        (
            "task:move",
            {
                "op_id": op(),
                "project_id": own.project_id,
                "task_id": task["data"]["id"],
                "column_id": own.column_id,
                "after_id": None,
            },
        ),
        (
            "task:create",
            {
                "op_id": op(),
                "project_id": own.project_id,
                "column_id": board.column_id,
                "title": "x",
            },
        ),
    ]
    for event, payload in attempts:
        before = await _state(db)
        reply = await mallory.call(event, payload)
        assert reply["ok"] is False, (event, reply)
        assert reply["error"]["code"] == "not_found", (event, reply)
        assert await _state(db) == before, event
    title = await db.fetchval("SELECT title FROM tasks WHERE id = $1::uuid", task["data"]["id"])
    assert title == "t"


async def test_an_event_of_another_project_is_never_received(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    mallory = await client_factory((await api.register("mallory")).access_token)
    board = await make_board(ann)
    await ann.ok("project:join", {"project_id": board.project_id})
    refused = await mallory.call("project:join", {"project_id": board.project_id})
    assert refused["error"]["code"] == "not_found"
    reply = await ann.ok(
        "task:create",
        {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id, "title": "s"},
    )
    await ann.wait_for_event(lambda e: e["seq"] == reply["seq"])
    assert mallory.events == []


async def test_malformed_json_in_a_socket_message_is_answered_and_changes_nothing(
    api, base_url, db
):
    """A raw client sends an event whose JSON is cut off: the ack still comes, typed."""
    import json

    import aiohttp

    account = await api.register("ann")
    before = await _state(db)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base_url}/socket.io/?EIO=4&transport=websocket") as ws,
    ):
        assert (await ws.receive_str()).startswith("0{")
        await ws.send_str("40" + json.dumps({"token": account.access_token}))
        assert (await ws.receive_str()).startswith("40{")
        await ws.send_str('421["workspace:create",{"op_id":"a","name":')
        ack = await ws.receive_str()
        assert ack.startswith("431")
        reply = json.loads(ack[3:])[0]
        assert reply["ok"] is False
        assert reply["error"]["code"] == "invalid_payload"
        assert reply["error"]["details"][0]["field"] == "(payload)"
        # Nested 900 deep (python's own recursion would give out while walking it): typed.
        deep = "[" * 900 + "1" + "]" * 900
        await ws.send_str('423["workspace:create",{"op_id":"b","name":"n","x":' + deep + "}]")
        ack = await ws.receive_str()
        assert ack.startswith("433")
        assert json.loads(ack[3:])[0]["error"]["code"] == "invalid_payload"
        # The connection stays usable.
        await ws.send_str('422["workspace:list",{}]')
        assert json.loads((await ws.receive_str())[3:])[0]["ok"] is True
    assert await _state(db) == before
