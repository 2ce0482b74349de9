"""Two people editing one task at once never lose an edit silently (field-level versions)."""

from __future__ import annotations

import asyncio

from domain.conflicts import conflicting_fields, stamped
from tests.support import make_board, op


async def _task(client, board, title="Draft"):
    reply = await client.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": title,
            "description": "first",
        },
    )
    return reply["data"]


def _update(board, task, **fields):
    return {
        "op_id": op(),
        "project_id": board.project_id,
        "task_id": task["id"],
        "base_version": task["version"],
        **fields,
    }


async def test_same_field_edited_at_once_one_wins_the_other_gets_conflict(api, client_factory, db):
    account = await api.register("ann")
    one = await client_factory(account.access_token)
    two = await client_factory(account.access_token)
    board = await make_board(one)
    task = await _task(one, board)
    replies = await asyncio.gather(
        one.call("task:update", _update(board, task, title="One's title")),
        two.call("task:update", _update(board, task, title="Two's title")),
    )
    won = [r for r in replies if r["ok"]]
    lost = [r for r in replies if not r["ok"]]
    assert len(won) == 1 and len(lost) == 1
    error = lost[0]["error"]
    assert error["code"] == "conflict"
    assert error["details"]["fields"] == ["title"]
    # The loser is told the current state, so it can show it and let its user decide.
    assert error["details"]["current"]["title"] == won[0]["data"]["title"]
    assert error["details"]["current"]["version"] == 2
    stored = await db.fetchval("SELECT title FROM tasks WHERE id = $1::uuid", task["id"])
    assert stored == won[0]["data"]["title"]
    events = await db.fetchval(
        "SELECT count(*) FROM project_events WHERE project_id = $1::uuid AND type = 'task.updated'",
        board.project_id,
    )
    assert events == 1


async def test_different_fields_edited_at_once_both_merge(api, client_factory, db):
    account = await api.register("ann")
    one = await client_factory(account.access_token)
    two = await client_factory(account.access_token)
    board = await make_board(one)
    task = await _task(one, board)
    replies = await asyncio.gather(
        one.call("task:update", _update(board, task, title="New title")),
        two.call("task:update", _update(board, task, description="New description")),
    )
    assert all(r["ok"] for r in replies), replies
    row = await db.fetchrow(
        "SELECT title, description, version FROM tasks WHERE id = $1::uuid", task["id"]
    )
    assert (row["title"], row["description"], row["version"]) == ("New title", "New description", 3)


async def test_a_stale_edit_of_a_field_changed_since_conflicts_even_later(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    task = await _task(ann, board)
    await ann.ok("task:update", _update(board, task, title="v2"))
    await ann.ok("task:update", {**_update(board, task, description="d"), "base_version": 2})
    stale = await ann.call("task:update", _update(board, task, title="from version 1"))
    assert stale["error"]["code"] == "conflict"
    # Based on the current version, the same change goes through.
    fresh = await ann.ok("task:update", {**_update(board, task, title="ok"), "base_version": 3})
    assert fresh["data"]["version"] == 4


async def test_setting_the_value_someone_else_already_set_is_no_conflict(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    task = await _task(ann, board)
    await ann.ok("task:update", _update(board, task, title="Agreed"))
    same = await ann.call("task:update", _update(board, task, title="Agreed"))
    assert same["ok"] is True


async def test_a_move_does_not_conflict_with_a_title_edit(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    task = await _task(ann, board)
    await ann.ok(
        "task:move",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "task_id": task["id"],
            "column_id": board.column_id,
            "after_id": None,
        },
    )
    edited = await ann.ok("task:update", _update(board, task, title="After the move"))
    assert edited["data"]["version"] == 3


async def test_column_renames_conflict_too(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    rename = {"project_id": board.project_id, "column_id": board.column_id, "base_version": 1}
    await ann.ok("column:rename", {"op_id": op(), **rename, "name": "Backlog"})
    stale = await ann.call("column:rename", {"op_id": op(), **rename, "name": "Inbox"})
    assert stale["error"]["code"] == "conflict"
    assert stale["error"]["details"]["current"]["name"] == "Backlog"


async def test_a_base_version_from_the_future_is_invalid(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    task = await _task(ann, board)
    reply = await ann.call("task:update", {**_update(board, task, title="x"), "base_version": 9})
    assert reply["error"]["code"] == "invalid_payload"
    assert reply["error"]["details"][0]["field"] == "base_version"
    assert await db.fetchval("SELECT version FROM tasks WHERE id = $1::uuid", task["id"]) == 1


def test_conflict_rule_in_isolation():
    current = {"title": "b", "description": "x"}
    versions = {"title": 3}
    assert conflicting_fields(2, versions, current, {"title": "c"}) == ["title"]
    assert conflicting_fields(3, versions, current, {"title": "c"}) == []
    assert conflicting_fields(2, versions, current, {"description": "y"}) == []
    assert conflicting_fields(2, versions, current, {"title": "b"}) == []
    assert stamped(versions, {"description": "y"}, 4) == {"title": 3, "description": 4}
