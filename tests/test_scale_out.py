"""Two server processes share rooms through Redis: no sticky sessions with WebSocket transport."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support import Api, connect, make_board, op


async def test_an_operation_on_one_instance_reaches_a_client_of_the_other(two_servers, db):
    first, second = two_servers
    async with aiohttp.ClientSession() as http:
        account = await Api(first.url, http).register("ann")
        # The same access token works on either instance: they share the signing key.
        a = await connect(first.url, account.access_token)
        b = await connect(second.url, account.access_token)
        try:
            board = await make_board(a)
            await b.ok("project:join", {"project_id": board.project_id})
            created = await a.ok(
                "task:create",
                {
                    "op_id": op(),
                    "project_id": board.project_id,
                    "column_id": board.column_id,
                    "title": "across instances",
                },
            )
            event = await b.wait_for_event(lambda e: e["seq"] == created["seq"])
            assert event["data"]["task"]["title"] == "across instances"

            # And back: an edit made through the second instance reaches the first.
            await a.ok("project:join", {"project_id": board.project_id})
            moved = await b.ok(
                "task:update",
                {
                    "op_id": op(),
                    "project_id": board.project_id,
                    "task_id": created["data"]["id"],
                    "base_version": 1,
                    "title": "edited on two",
                },
            )
            back = await a.wait_for_event(lambda e: e["seq"] == moved["seq"])
            assert back["type"] == "task.updated"
            assert (
                await db.fetchval(
                    "SELECT title FROM tasks WHERE id = $1::uuid", created["data"]["id"]
                )
                == "edited on two"
            )
        finally:
            await a.sio.disconnect()
            await b.sio.disconnect()


async def test_a_stopping_instance_closes_its_sockets_instead_of_waiting_for_ping_timeouts(
    two_servers,
):
    first, _ = two_servers
    async with aiohttp.ClientSession() as http:
        account = await Api(first.url, http).register("ann")
        client = await connect(first.url, account.access_token)
        # And a client that never answers (a frozen tab, a phone gone off the network): after
        # the Engine.IO handshake it reads nothing and never closes.
        silent = await http.ws_connect(
            first.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
            autoclose=False,
            autoping=False,
        )
        opened = await silent.receive(timeout=10)
        assert opened.type == aiohttp.WSMsgType.TEXT and opened.data.startswith("0")

        first.process.terminate()
        # An instance that waited on its clients would linger for the close handshake the
        # silent one never completes, then its ping timeout: about 55 s (5 s with only the
        # python-socketio client). A load balancer draining it would wait as long.
        await asyncio.get_running_loop().run_in_executor(None, first.process.wait, 15)
        assert first.process.returncode == 0
        await asyncio.wait_for(client.sio.wait(), 10)  # returns once the client is disconnected
        assert not client.sio.connected
        # The silent client was told (the Engine.IO CLOSE packet), then its connection ended.
        told = await silent.receive(timeout=10)
        assert (told.type, told.data) == (aiohttp.WSMsgType.TEXT, "1")
        ended = await silent.receive(timeout=10)
        assert ended.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), ended
