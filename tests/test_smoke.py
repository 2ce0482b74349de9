from tests.support import make_board, op


async def test_task_created_by_one_member_reaches_another(api, client_factory, db):
    alice = await api.register("alice")
    a = await client_factory(alice.access_token)
    board = await make_board(a)
    b = await client_factory(alice.access_token)
    snapshot = await b.ok("project:join", {"project_id": board.project_id})
    await a.ok("project:join", {"project_id": board.project_id})
    reply = await a.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": "Hi",
        },
    )
    event = await b.wait_for_event(lambda e: e["type"] == "task.created")
    assert event["seq"] == reply["seq"] == snapshot["data"]["seq"] + 1
    assert event["data"]["task"]["title"] == "Hi"
    row = await db.fetchrow("SELECT title FROM tasks WHERE id = $1::uuid", reply["data"]["id"])
    assert row["title"] == "Hi"
