"""Every mutation carries an op_id: a retry is applied once and answered with the first result."""

from __future__ import annotations

import asyncio

from tests.support import make_board, op


async def test_a_retried_op_is_applied_once_with_the_same_answer(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    payload = {
        "op_id": op(),
        "project_id": board.project_id,
        "column_id": board.column_id,
        "title": "once",
    }
    first = await ann.ok("task:create", payload)
    retry = await ann.ok("task:create", payload)
    assert retry == first
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tasks WHERE project_id = $1::uuid", board.project_id
        )
        == 1
    )
    assert (
        await db.fetchval("SELECT count(*) FROM project_events WHERE op_id = $1", payload["op_id"])
        == 1
    )


async def test_the_same_op_fired_from_two_connections_at_once_applies_once(api, client_factory, db):
    account = await api.register("ann")
    one = await client_factory(account.access_token)
    two = await client_factory(account.access_token)
    board = await make_board(one)
    for _ in range(5):
        payload = {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": "race",
        }
        replies = await asyncio.gather(
            one.call("task:create", payload), two.call("task:create", payload)
        )
        assert replies[0] == replies[1]
        assert replies[0]["ok"] is True
        assert (
            await db.fetchval(
                "SELECT count(*) FROM project_events WHERE op_id = $1", payload["op_id"]
            )
            == 1
        )
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tasks WHERE project_id = $1::uuid", board.project_id
        )
        == 5
    )
    seqs = await db.fetch(
        "SELECT seq FROM project_events WHERE project_id = $1::uuid ORDER BY seq",
        board.project_id,
    )
    assert [r["seq"] for r in seqs] == list(range(1, len(seqs) + 1))


async def test_workspace_creation_is_idempotent_too(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    payload = {"op_id": op(), "name": "Once"}
    first, second = await asyncio.gather(
        ann.call("workspace:create", payload), ann.call("workspace:create", payload)
    )
    assert first == second
    assert len((await ann.ok("workspace:list"))["data"]["workspaces"]) == 1


async def test_an_op_id_reused_for_another_operation_is_refused(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    op_id = op()
    await ann.ok("column:create", {"op_id": op_id, "project_id": board.project_id, "name": "A"})
    reply = await ann.call(
        "task:create",
        {
            "op_id": op_id,
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": "other",
        },
    )
    assert reply["error"]["code"] == "invalid_payload"
    assert reply["error"]["details"][0]["field"] == "op_id"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM tasks WHERE project_id = $1::uuid", board.project_id
        )
        == 0
    )


async def test_op_ids_are_scoped_to_their_actor(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    bob = await client_factory((await api.register("bob")).access_token)
    shared = op()
    a = await ann.ok("workspace:create", {"op_id": shared, "name": "Ann's"})
    b = await bob.ok("workspace:create", {"op_id": shared, "name": "Bob's"})
    assert a["data"]["id"] != b["data"]["id"]


async def test_a_failed_op_can_be_retried_and_then_succeeds(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    payload = {
        "op_id": op(),
        "project_id": board.project_id,
        "column_id": board.column_id,
        "title": "t",
        "after_id": board.column_id,
    }  # not a task: not_found
    assert (await ann.call("task:create", payload))["error"]["code"] == "not_found"
    payload.pop("after_id")
    assert (await ann.call("task:create", payload))["ok"] is True
