"""Replay on rejoin: a client that names the last seq it saw gets exactly what it missed."""

from __future__ import annotations

from realtime.app import create_app
from tests.support import make_board, op


async def _create(client, board, n):
    replies = []
    for i in range(n):
        replies.append(
            await client.ok(
                "task:create",
                {
                    "op_id": op(),
                    "project_id": board.project_id,
                    "column_id": board.column_id,
                    "title": f"t{i}",
                },
            )
        )
    return replies


async def test_a_client_offline_for_500_events_receives_exactly_those_in_order(api, client_factory):
    account = await api.register("ann")
    writer = await client_factory(account.access_token)
    board = await make_board(writer)
    watcher = await client_factory(account.access_token)
    await watcher.ok("project:join", {"project_id": board.project_id})
    offline = await client_factory(account.access_token)
    seen = (await offline.ok("project:join", {"project_id": board.project_id}))["data"]["seq"]
    await offline.sio.disconnect()

    replies = await _create(writer, board, 500)
    last = replies[-1]["seq"]
    await watcher.wait_for_event(lambda e: e["seq"] == last, timeout=20)

    back = await client_factory(account.access_token)
    caught_up = await back.ok("project:join", {"project_id": board.project_id, "since_seq": seen})
    data = caught_up["data"]
    assert data["mode"] == "replay"
    assert data["seq"] == last
    assert [e["seq"] for e in data["events"]] == list(range(seen + 1, last + 1))
    # Exactly the events the connected watcher received live, nothing more or less.
    live = [e for e in watcher.events if e["seq"] > seen]
    assert [(e["seq"], e["op_id"], e["type"]) for e in data["events"]] == [
        (e["seq"], e["op_id"], e["type"]) for e in live
    ]


async def test_nothing_missed_is_an_empty_replay(api, client_factory):
    ann = await client_factory((await api.register("ann")).access_token)
    board = await make_board(ann)
    seq = (await ann.ok("project:join", {"project_id": board.project_id}))["data"]["seq"]
    again = await ann.ok("project:join", {"project_id": board.project_id, "since_seq": seq})
    assert again["data"] == {
        "mode": "replay",
        "project_id": board.project_id,
        "events": [],
        "seq": seq,
        "role": "manager",  # the workspace's owner
    }


async def test_beyond_the_window_or_ahead_of_the_project_the_answer_is_a_reset(
    aiohttp_server, settings, api
):
    from tests.support import Api, connect

    server = await aiohttp_server(
        await create_app(settings.model_copy(update={"replay_window_events": 3}))
    )
    url = str(server.make_url("")).rstrip("/")
    account = await Api(url, api.http).register("ann")
    client = await connect(url, account.access_token)
    try:
        board = await make_board(client)
        seq = (await client.ok("project:join", {"project_id": board.project_id}))["data"]["seq"]
        await _create(client, board, 2)
        within = await client.ok("project:join", {"project_id": board.project_id, "since_seq": seq})
        assert within["data"]["mode"] == "replay" and len(within["data"]["events"]) == 2
        await _create(client, board, 2)
        beyond = await client.ok("project:join", {"project_id": board.project_id, "since_seq": seq})
        assert beyond["data"]["mode"] == "reset"
        assert beyond["data"]["seq"] == seq + 4
        assert len(beyond["data"]["tasks"]) == 4
        ahead = await client.ok(
            "project:join", {"project_id": board.project_id, "since_seq": seq + 100}
        )
        assert ahead["data"]["mode"] == "reset"
    finally:
        await client.sio.disconnect()
