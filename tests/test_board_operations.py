"""Every board operation: acknowledged, persisted with a gapless seq, broadcast to the room."""

from __future__ import annotations

from domain.ordering import MAX_KEY_LENGTH
from tests.support import make_board, op


async def _two_members(api, client_factory):
    account = await api.register("ann")
    actor = await client_factory(account.access_token)
    board = await make_board(actor)
    watcher = await client_factory(account.access_token)
    await watcher.ok("project:join", {"project_id": board.project_id})
    return account, actor, watcher, board


async def test_workspaces_are_created_and_listed_for_their_members_only(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    bob = await client_factory((await api.register("bob")).access_token)
    created = await ann.ok("workspace:create", {"op_id": op(), "name": "Ann's team"})
    assert created["data"]["role"] == "owner"
    listed = await ann.ok("workspace:list", {})
    assert [w["id"] for w in listed["data"]["workspaces"]] == [created["data"]["id"]]
    assert (await bob.ok("workspace:list"))["data"]["workspaces"] == []


async def test_projects_are_created_listed_and_joined_with_a_snapshot(api, client_factory, db):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    listed = await ann.ok("project:list", {"workspace_id": board.workspace_id})
    assert [p["id"] for p in listed["data"]["projects"]] == [board.project_id]
    snapshot = (await ann.ok("project:join", {"project_id": board.project_id}))["data"]
    assert snapshot["project"]["id"] == board.project_id
    assert [c["id"] for c in snapshot["columns"]] == [board.column_id]
    assert snapshot["tasks"] == []
    # project.created and column.created
    assert snapshot["seq"] == 2
    assert (
        await db.fetchval("SELECT last_seq FROM projects WHERE id = $1::uuid", board.project_id)
        == 2
    )


async def test_column_lifecycle(api, client_factory, db):
    _, actor, watcher, board = await _two_members(api, client_factory)
    pid = board.project_id
    second = await actor.ok("column:create", {"op_id": op(), "project_id": pid, "name": "Done"})
    middle = await actor.ok(
        "column:create",
        {"op_id": op(), "project_id": pid, "name": "Doing", "after_id": board.column_id},
    )
    renamed = await actor.ok(
        "column:rename",
        {
            "op_id": op(),
            "project_id": pid,
            "column_id": middle["data"]["id"],
            "base_version": 1,
            "name": "In progress",
        },
    )
    assert renamed["data"]["name"] == "In progress"
    assert renamed["data"]["version"] == 2
    moved = await actor.ok(
        "column:move",
        {"op_id": op(), "project_id": pid, "column_id": second["data"]["id"], "after_id": None},
    )
    order = await db.fetch(
        "SELECT name FROM columns WHERE project_id = $1::uuid ORDER BY position", pid
    )
    assert [r["name"] for r in order] == ["Done", "To do", "In progress"]
    deleted = await actor.ok(
        "column:delete", {"op_id": op(), "project_id": pid, "column_id": board.column_id}
    )
    assert deleted["data"] == {"column_id": board.column_id}
    assert (
        await db.fetchval("SELECT count(*) FROM columns WHERE id = $1::uuid", board.column_id) == 0
    )

    await watcher.wait_for_event(lambda e: e["seq"] == deleted["seq"])
    kinds = [(e["seq"], e["type"]) for e in watcher.events]
    assert kinds == [
        (second["seq"], "column.created"),
        (middle["seq"], "column.created"),
        (renamed["seq"], "column.renamed"),
        (moved["seq"], "column.moved"),
        (deleted["seq"], "column.deleted"),
    ]


async def test_task_lifecycle_is_persisted_and_broadcast(api, client_factory, db):
    account, actor, watcher, board = await _two_members(api, client_factory)
    pid, cid = board.project_id, board.column_id
    created = await actor.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": pid,
            "column_id": cid,
            "title": "Write the spec",
            "description": "**markdown**",
        },
    )
    task_id = created["data"]["id"]
    updated = await actor.ok(
        "task:update",
        {"op_id": op(), "project_id": pid, "task_id": task_id, "base_version": 1, "title": "Spec"},
    )
    assert updated["data"]["description"] == "**markdown**"  # untouched field kept
    assert updated["data"]["version"] == 2
    done = await actor.ok("column:create", {"op_id": op(), "project_id": pid, "name": "Done"})
    moved = await actor.ok(
        "task:move",
        {
            "op_id": op(),
            "project_id": pid,
            "task_id": task_id,
            "column_id": done["data"]["id"],
            "after_id": None,
        },
    )
    row = await db.fetchrow(
        "SELECT title, column_id::text, version FROM tasks WHERE id = $1::uuid", task_id
    )
    assert (row["title"], row["column_id"], row["version"]) == ("Spec", done["data"]["id"], 3)

    deleted = await actor.ok("task:delete", {"op_id": op(), "project_id": pid, "task_id": task_id})
    assert await db.fetchval("SELECT count(*) FROM tasks WHERE id = $1::uuid", task_id) == 0

    last = await watcher.wait_for_event(lambda e: e["seq"] == deleted["seq"])
    assert last == {
        "project_id": pid,
        "seq": deleted["seq"],
        "type": "task.deleted",
        "actor_id": account.user_id,
        "op_id": last["op_id"],
        "at": last["at"],
        "data": {"task_id": task_id},
    }
    received = {e["seq"]: e for e in watcher.events}
    assert received[created["seq"]]["data"]["task"]["title"] == "Write the spec"
    assert received[updated["seq"]]["type"] == "task.updated"
    assert received[moved["seq"]]["data"]["task"]["column_id"] == done["data"]["id"]

    # The log holds every change, gapless from 1, with the op_id that caused it.
    log = await db.fetch(
        "SELECT seq, type, op_id FROM project_events WHERE project_id = $1::uuid ORDER BY seq", pid
    )
    assert [r["seq"] for r in log] == list(range(1, len(log) + 1))
    assert log[-1]["type"] == "task.deleted"
    assert log[-1]["op_id"] == last["op_id"]


async def test_a_move_writes_one_row_and_keeps_fractional_order(api, client_factory, db):
    _, actor, _, board = await _two_members(api, client_factory)
    pid, cid = board.project_id, board.column_id
    ids = []
    for title in ("a", "b", "c", "d"):
        reply = await actor.ok(
            "task:create", {"op_id": op(), "project_id": pid, "column_id": cid, "title": title}
        )
        ids.append(reply["data"]["id"])
    before = {
        r["id"]: r
        for r in await db.fetch(
            "SELECT id::text, position, version FROM tasks WHERE project_id = $1::uuid", pid
        )
    }
    # d goes between a and b
    await actor.ok(
        "task:move",
        {"op_id": op(), "project_id": pid, "task_id": ids[3], "column_id": cid, "after_id": ids[0]},
    )
    after = {
        r["id"]: r
        for r in await db.fetch(
            "SELECT id::text, position, version FROM tasks WHERE project_id = $1::uuid", pid
        )
    }
    changed = [i for i in ids if before[i] != after[i]]
    assert changed == [ids[3]]
    ordered = await db.fetch(
        "SELECT title FROM tasks WHERE column_id = $1::uuid ORDER BY position", cid
    )
    assert [r["title"] for r in ordered] == ["a", "d", "b", "c"]


async def test_keys_stay_short_under_repeated_insertion_and_clients_follow_the_rebalance(
    api, client_factory, db
):
    """Every card inserted right after the first one: keys would grow about one character per
    five insertions (52 after 300). Past MAX_KEY_LENGTH the column is re-keyed in the same
    operation, and its event names every re-keyed sibling, so a client that applies only the
    events it receives keeps the server's order."""
    _, actor, watcher, board = await _two_members(api, client_factory)
    pid, cid = board.project_id, board.column_id

    async def create(title: str, after: str | None = None) -> dict:
        fields = {"op_id": op(), "project_id": pid, "column_id": cid, "title": title}
        return await actor.ok("task:create", fields | ({"after_id": after} if after else {}))

    first = (await create("first"))["data"]["id"]
    await create("last")
    rebalances = 0
    for i in range(120):
        reply = await create(f"card {i}", first)
        rebalances += "rebalanced" in reply["data"]
    assert rebalances >= 1
    keys = await db.fetch("SELECT id::text, position FROM tasks WHERE column_id = $1::uuid", cid)
    assert max(len(r["position"]) for r in keys) <= MAX_KEY_LENGTH

    final = await create("marker")
    await watcher.wait_for_event(lambda event: event["seq"] == final["seq"], timeout=30)
    seen: dict[str, str] = {}
    for event in watcher.events:
        if event["type"] in ("task.created", "task.moved"):
            seen[event["data"]["task"]["id"]] = event["data"]["task"]["position"]
            for sibling in event["data"].get("rebalanced", []):
                seen[sibling["id"]] = sibling["position"]
    stored = {
        r["id"]: r["position"]
        for r in await db.fetch(
            "SELECT id::text, position FROM tasks WHERE column_id = $1::uuid", cid
        )
    }
    assert seen == stored
    ordered = await db.fetch(
        "SELECT title FROM tasks WHERE column_id = $1::uuid ORDER BY position, id", cid
    )
    assert [r["title"] for r in ordered] == [
        "first",
        *(f"card {i}" for i in reversed(range(120))),
        "last",
        "marker",
    ]


async def test_after_leaving_a_project_no_more_events_arrive(api, client_factory):
    _, actor, watcher, board = await _two_members(api, client_factory)
    await watcher.ok("project:leave", {"project_id": board.project_id})
    reply = await actor.ok(
        "task:create",
        {"op_id": op(), "project_id": board.project_id, "column_id": board.column_id, "title": "x"},
    )
    # A marker through a project the watcher still follows proves delivery has caught up.
    other = await make_board(actor)
    await watcher.ok("project:join", {"project_id": other.project_id})
    marker = await actor.ok(
        "task:create",
        {"op_id": op(), "project_id": other.project_id, "column_id": other.column_id, "title": "m"},
    )
    await watcher.wait_for_event(
        lambda e: e["seq"] == marker["seq"] and e["project_id"] == other.project_id
    )
    assert not [
        e
        for e in watcher.events
        if e["project_id"] == board.project_id and e["seq"] == reply["seq"]
    ]
