"""Every task field over Socket.IO: due dates, archive, assignees, watchers, labels, checklists,
comments with @mentions; history and search. Each change is persisted and broadcast."""

from __future__ import annotations

import uuid

import pytest

from tests.support import make_board, op


@pytest.fixture
async def team(api, client_factory):
    """An owner with a board, an editor member, and a stranger from another tenant."""
    owner_account = await api.register("owner")
    owner = await client_factory(owner_account.access_token)
    board = await make_board(owner)
    editor_account = await api.register("editor")
    editor = await client_factory(editor_account.access_token)
    await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": editor_account.email,
            "role": "member",
        },
    )
    stranger_account = await api.register("stranger")
    await owner.ok("project:join", {"project_id": board.project_id})
    return owner, owner_account, editor, editor_account, stranger_account, board


async def _task(client, board, title="Card", description=""):
    reply = await client.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": title,
            "description": description,
        },
    )
    return reply


def _p(board, **fields):
    return {"op_id": op(), "project_id": board.project_id, **fields}


async def test_due_date_is_set_in_utc_and_cleared_with_null(team, db):
    owner, _, _, _, _, board = team
    task = (await _task(owner, board))["data"]
    set_ = await owner.ok(
        "task:update",
        _p(board, task_id=task["id"], base_version=1, due_at="2027-01-15T09:00:00+02:00"),
    )
    assert set_["data"]["due_at"].startswith("2027-01-15T07:00:00")
    kept = await owner.ok("task:update", _p(board, task_id=task["id"], base_version=2, title="T"))
    assert kept["data"]["due_at"] == set_["data"]["due_at"]
    cleared = await owner.ok(
        "task:update", _p(board, task_id=task["id"], base_version=3, due_at=None)
    )
    assert cleared["data"]["due_at"] is None
    naive = await owner.call(
        "task:update", _p(board, task_id=task["id"], base_version=4, due_at="2027-01-15T09:00:00")
    )
    assert naive["error"]["code"] == "invalid_payload"
    assert naive["error"]["details"][0]["field"] == "due_at"


async def test_archived_tasks_and_columns_leave_the_board_and_come_back(team, client_factory):
    owner, _, _, _, _, board = team
    task = (await _task(owner, board))["data"]
    archived = await owner.ok("task:archive", _p(board, task_id=task["id"]))
    assert archived["data"]["archived_at"] is not None
    again = await owner.call("task:archive", _p(board, task_id=task["id"]))
    assert again["error"]["code"] == "conflict"
    snapshot = await owner.ok("project:join", {"project_id": board.project_id})
    assert snapshot["data"]["tasks"] == []
    await owner.ok("task:restore", _p(board, task_id=task["id"]))
    await owner.ok("column:archive", _p(board, column_id=board.column_id))
    snapshot = await owner.ok("project:join", {"project_id": board.project_id})
    assert snapshot["data"]["columns"] == [] and snapshot["data"]["tasks"] == []
    await owner.ok("column:restore", _p(board, column_id=board.column_id))
    snapshot = await owner.ok("project:join", {"project_id": board.project_id})
    assert [t["id"] for t in snapshot["data"]["tasks"]] == [task["id"]]


async def test_assignees_must_see_the_project_and_then_watch_it(team, db):
    owner, _, editor, editor_account, stranger, board = team
    task = (await _task(owner, board))["data"]
    refused = await owner.call(
        "task:assign", _p(board, task_id=task["id"], user_id=stranger.user_id)
    )
    assert refused["error"]["code"] == "not_found"
    assert refused["error"]["details"]["field"] == "user_id"
    await owner.ok("task:assign", _p(board, task_id=task["id"], user_id=editor_account.user_id))
    event = await owner.wait_for_event(lambda e: e["type"] == "task.assigned")
    assert event["data"] == {"task_id": task["id"], "user_id": editor_account.user_id}
    detail = await owner.ok("task:get", {"project_id": board.project_id, "task_id": task["id"]})
    assert detail["data"]["assignee_ids"] == [editor_account.user_id]
    assert detail["data"]["watcher_ids"] == [editor_account.user_id]
    snapshot = await owner.ok("project:join", {"project_id": board.project_id})
    assert snapshot["data"]["assignments"] == [
        {"task_id": task["id"], "user_id": editor_account.user_id}
    ]
    await owner.ok("task:unassign", _p(board, task_id=task["id"], user_id=editor_account.user_id))
    await editor.ok("task:unwatch", _p(board, task_id=task["id"]))
    detail = await owner.ok("task:get", {"project_id": board.project_id, "task_id": task["id"]})
    assert detail["data"]["assignee_ids"] == [] and detail["data"]["watcher_ids"] == []


async def test_labels_per_project_on_tasks(team, db):
    owner, *_, board = team
    task = (await _task(owner, board))["data"]
    label = (await owner.ok("label:create", _p(board, name="Bug", color="#d73a4a")))["data"]
    duplicate = await owner.call("label:create", _p(board, name="bug", color="#000000"))
    assert duplicate["error"]["code"] == "conflict"
    bad_colour = await owner.call("label:create", _p(board, name="X", color="red"))
    assert bad_colour["error"]["details"][0]["field"] == "color"
    await owner.ok("task:label", _p(board, task_id=task["id"], label_id=label["id"]))
    snapshot = (await owner.ok("project:join", {"project_id": board.project_id}))["data"]
    assert [lb["name"] for lb in snapshot["labels"]] == ["Bug"]
    assert snapshot["task_labels"] == [{"task_id": task["id"], "label_id": label["id"]}]
    renamed = await owner.ok("label:update", _p(board, label_id=label["id"], name="Defect"))
    assert renamed["data"] == {**label, "name": "Defect"}
    await owner.ok("label:delete", _p(board, label_id=label["id"]))
    assert (
        await db.fetchval("SELECT count(*) FROM task_labels WHERE task_id = $1::uuid", task["id"])
        == 0
    )


async def test_checklist_items_add_toggle_reorder_delete(team, db):
    owner, *_, board = team
    task = (await _task(owner, board))["data"]
    ids = []
    for text in ("one", "two", "three"):
        reply = await owner.ok("checklist:add", _p(board, task_id=task["id"], text=text))
        ids.append(reply["data"]["id"])
    toggled = await owner.ok("checklist:toggle", _p(board, item_id=ids[1], done=True))
    assert toggled["data"]["done"] is True
    await owner.ok("checklist:move", _p(board, item_id=ids[2], after_id=None))
    await owner.ok("checklist:delete", _p(board, item_id=ids[0]))
    detail = await owner.ok("task:get", {"project_id": board.project_id, "task_id": task["id"]})
    assert [(i["text"], i["done"]) for i in detail["data"]["checklist"]] == [
        ("three", False),
        ("two", True),
    ]
    event = await owner.wait_for_event(lambda e: e["type"] == "checklist.item_deleted")
    assert event["data"] == {"task_id": task["id"], "item_id": ids[0]}


async def test_comments_with_mentions_author_rules_and_auto_watch(team, api, client_factory):
    owner, owner_account, editor, editor_account, stranger, board = team
    task = (await _task(owner, board))["data"]
    body = f"<@{editor_account.user_id}> please review; <@{stranger.user_id}> cannot see this"
    created = await owner.ok("comment:create", _p(board, task_id=task["id"], body=body))
    event = await owner.wait_for_event(lambda e: e["type"] == "comment.created")
    # Only people who can see the project are mentioned.
    assert event["data"]["mentions"] == [editor_account.user_id]
    comment_id = created["data"]["id"]
    not_author = await editor.call("comment:edit", _p(board, comment_id=comment_id, body="x"))
    assert not_author["error"]["code"] == "forbidden"
    edited = await owner.ok("comment:edit", _p(board, comment_id=comment_id, body="fixed"))
    assert edited["data"]["edited_at"] is not None
    own = (await editor.ok("comment:create", _p(board, task_id=task["id"], body="mine")))["data"]
    # An editor may not delete another's comment; a manager (here the owner) may.
    assert (await editor.call("comment:delete", _p(board, comment_id=comment_id)))["error"][
        "code"
    ] == "forbidden"
    await owner.ok("comment:delete", _p(board, comment_id=own["id"]))
    detail = await owner.ok("task:get", {"project_id": board.project_id, "task_id": task["id"]})
    assert [c["body"] for c in detail["data"]["comments"]] == ["fixed"]
    assert sorted(detail["data"]["watcher_ids"]) == sorted(
        [owner_account.user_id, editor_account.user_id]
    )


async def test_mentions_in_descriptions_are_recorded(team):
    owner, _, _, editor_account, _, board = team
    await _task(owner, board, description=f"for <@{editor_account.user_id}>")
    event = await owner.wait_for_event(lambda e: e["type"] == "task.created")
    assert event["data"]["mentions"] == [editor_account.user_id]


async def test_history_of_a_project_and_of_a_task_pages_backwards(team):
    owner, *_, board = team
    task = (await _task(owner, board))["data"]
    for n in range(3):
        await owner.ok(
            "task:update", _p(board, task_id=task["id"], base_version=n + 1, title=f"v{n}")
        )
    await _task(owner, board, "other")
    page = await owner.ok(
        "task:history", {"project_id": board.project_id, "task_id": task["id"], "limit": 2}
    )
    assert [e["type"] for e in page["data"]["events"]] == ["task.updated", "task.updated"]
    older = await owner.ok(
        "task:history",
        {
            "project_id": board.project_id,
            "task_id": task["id"],
            "limit": 2,
            "before_seq": page["data"]["next_before_seq"],
        },
    )
    assert [e["type"] for e in older["data"]["events"]] == ["task.updated", "task.created"]
    whole = await owner.ok("project:history", {"project_id": board.project_id, "limit": 100})
    seqs = [e["seq"] for e in whole["data"]["events"]]
    assert seqs == sorted(seqs, reverse=True) and seqs[-1] == 1
    assert whole["data"]["next_before_seq"] is None


async def test_search_finds_titles_descriptions_comments_but_only_where_allowed(
    team, api, client_factory
):
    owner, _, _, _, stranger_account, board = team
    word = f"zebra{uuid.uuid4().hex[:6]}"
    titled = (await _task(owner, board, title=f"{word} in title"))["data"]
    described = (await _task(owner, board, description=f"a {word} here"))["data"]
    commented = (await _task(owner, board))["data"]
    await owner.ok("comment:create", _p(board, task_id=commented["id"], body=f"see {word}"))
    secret = await owner.ok(
        "project:create", {"op_id": op(), "workspace_id": board.workspace_id, "name": "Secret"}
    )
    secret_column = await owner.ok(
        "column:create", {"op_id": op(), "project_id": secret["data"]["id"], "name": "c"}
    )
    await owner.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": secret["data"]["id"],
            "column_id": secret_column["data"]["id"],
            "title": f"{word} secret",
        },
    )
    found = await owner.ok("search", {"workspace_id": board.workspace_id, "q": word})
    hits = {(h["kind"], h["task_id"]) for h in found["data"]["results"]}
    assert {("task", titled["id"]), ("task", described["id"]), ("comment", commented["id"])} <= hits
    assert len(hits) == 4  # and the secret project's task, which the owner may read

    # A guest added to the board only never sees the secret project's task.
    guest = await client_factory(stranger_account.access_token)
    await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": stranger_account.email,
            "role": "guest",
            "project_id": board.project_id,
            "project_role": "viewer",
        },
    )
    seen = await guest.ok("search", {"workspace_id": board.workspace_id, "q": word})
    assert {h["project_id"] for h in seen["data"]["results"]} == {board.project_id}
    assert len(seen["data"]["results"]) == 3
    hidden = await guest.call(
        "search",
        {"workspace_id": board.workspace_id, "project_id": secret["data"]["id"], "q": word},
    )
    assert hidden["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("event", "fields", "field"),
    [
        ("label:create", {"name": "x" * 51, "color": "#000000"}, "name"),
        ("label:create", {"name": "ok", "color": "#FFFFFF"}, "color"),
        ("checklist:add", {"text": "x" * 501}, "text"),
        ("checklist:add", {"text": "  "}, "text"),
        ("comment:create", {"body": "x" * 10_001}, "body"),
        ("comment:create", {"body": ""}, "body"),
        ("task:assign", {"user_id": "me"}, "user_id"),
        ("checklist:toggle", {"item_id": str(uuid.uuid4()), "done": "maybe"}, "done"),
        ("project:history", {"limit": 101}, "limit"),
        ("search", {"q": "x" * 201}, "q"),
        ("search", {"q": ""}, "q"),
    ],
)
async def test_bad_input_of_the_new_fields_names_the_field_and_changes_nothing(
    team, db, event, fields, field
):
    owner, *_, board = team
    task = (await _task(owner, board))["data"]
    payload = {"op_id": op(), "project_id": board.project_id, "task_id": task["id"], **fields}
    if event == "search":
        payload = {"workspace_id": board.workspace_id, **fields}
    elif event == "project:history":
        payload = {"project_id": board.project_id, **fields}
    elif event in ("label:create", "checklist:toggle"):
        payload.pop("task_id")
    before = await db.fetchval(
        "SELECT last_seq FROM projects WHERE id = $1::uuid", board.project_id
    )
    reply = await owner.call(event, payload)
    assert reply["error"]["code"] == "invalid_payload", reply
    assert field in [d["field"] for d in reply["error"]["details"]]
    after = await db.fetchval("SELECT last_seq FROM projects WHERE id = $1::uuid", board.project_id)
    assert after == before


async def test_limits_on_counts(team, db):
    owner, *_, board = team
    task = (await _task(owner, board))["data"]
    await db.execute(
        "INSERT INTO checklist_items (id, task_id, text, position)"
        " SELECT gen_random_uuid(), $1::uuid, 'i', lpad(g::text, 4, '0')"
        " FROM generate_series(1, 100) g",
        task["id"],
    )
    reply = await owner.call("checklist:add", _p(board, task_id=task["id"], text="101st"))
    assert reply["error"]["code"] == "invalid_payload"
    assert reply["error"]["details"][0]["type"] == "too_many"


async def test_an_archived_column_takes_no_tasks_and_hides_its_tasks_everywhere(team):
    owner, _, _, editor_account, _, board = team
    word = f"yak{uuid.uuid4().hex[:6]}"
    task = (await _task(owner, board, title=word))["data"]
    await owner.ok("task:assign", _p(board, task_id=task["id"], user_id=editor_account.user_id))
    other = await owner.ok("column:create", _p(board, name="Other"))
    await owner.ok("column:archive", _p(board, column_id=board.column_id))
    refused = await owner.call(
        "task:create", _p(board, column_id=board.column_id, title="into the archive")
    )
    assert refused["error"]["code"] == "conflict"
    assert refused["error"]["details"]["reason"] == "archived"
    moved = await owner.call(
        "task:move", _p(board, task_id=task["id"], column_id=other["data"]["id"], after_id=None)
    )
    assert moved["ok"] is True  # out of the archive is fine
    back = await owner.call(
        "task:move", _p(board, task_id=task["id"], column_id=board.column_id, after_id=None)
    )
    assert back["error"]["code"] == "conflict"
    snapshot = (await owner.ok("project:join", {"project_id": board.project_id}))["data"]
    assert [t["id"] for t in snapshot["tasks"]] == [task["id"]]
    assert snapshot["assignments"] == [{"task_id": task["id"], "user_id": editor_account.user_id}]


async def test_archived_columns_hide_links_and_search_hits(team):
    owner, _, _, editor_account, _, board = team
    word = f"gnu{uuid.uuid4().hex[:6]}"
    task = (await _task(owner, board, title=word))["data"]
    await owner.ok("task:assign", _p(board, task_id=task["id"], user_id=editor_account.user_id))
    await owner.ok("column:archive", _p(board, column_id=board.column_id))
    snapshot = (await owner.ok("project:join", {"project_id": board.project_id}))["data"]
    assert snapshot["tasks"] == [] and snapshot["assignments"] == []
    found = await owner.ok("search", {"workspace_id": board.workspace_id, "q": word})
    assert found["data"]["results"] == []


async def test_a_label_update_must_change_something_and_history_ends_cleanly(team, db):
    owner, *_, board = team
    label = (await owner.ok("label:create", _p(board, name="L", color="#010203")))["data"]
    before = await db.fetchval(
        "SELECT last_seq FROM projects WHERE id = $1::uuid", board.project_id
    )
    empty = await owner.call("label:update", _p(board, label_id=label["id"]))
    assert empty["error"]["code"] == "invalid_payload"
    assert (
        await db.fetchval("SELECT last_seq FROM projects WHERE id = $1::uuid", board.project_id)
        == before
    )
    page = await owner.ok("project:history", {"project_id": board.project_id, "limit": before})
    assert page["data"]["events"][-1]["seq"] == 1
    assert page["data"]["next_before_seq"] is None
