"""The WebSocket transport: the only one offered, no per-message compression, message size
limit in the engine."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from realtime.app import create_app
from tests.support import JWT_SECRET, Api, ServerProcess, connect, free_port


async def test_permessage_deflate_is_refused_even_when_the_client_offers_it(base_url):
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base_url}/socket.io/?EIO=4&transport=websocket", compress=15) as ws,
    ):
        assert ws.compress == 0
        opening = await ws.receive_str()
        assert opening.startswith("0{")  # the Engine.IO open packet


async def test_a_message_above_the_limit_closes_the_connection(api, client_factory):
    account = await api.register("ann")
    client = await client_factory(account.access_token)
    oversized = {"op_id": "big", "name": "x" * (70 * 1024)}
    # The engine drops the connection (no ack ever comes); nothing is created.
    with pytest.raises(socketio.exceptions.TimeoutError):
        await client.sio.call("workspace:create", oversized, timeout=3)
    assert not client.sio.connected
    again = await client_factory(account.access_token)
    assert (await again.ok("workspace:list"))["data"]["workspaces"] == []


async def test_readyz_reports_each_dependency(api, base_url):
    async with api.http.get(f"{base_url}/readyz") as resp:
        assert resp.status == 200
        body = await resp.json()
    outbox = body.pop("outbox")
    assert body == {"status": "ok", "database": "up", "redis": "up"}
    # Reported, not gating: no broker is configured here, so nothing relays the outbox.
    assert outbox["relay"] == "off"
    assert outbox["count"] >= 0 and outbox["oldest_age_seconds"] >= 0
    async with api.http.get(f"{base_url}/healthz") as resp:
        assert resp.status == 200


async def test_long_polling_is_refused_and_a_polled_server_still_stops_at_once(services):
    """Polling needs sticky sessions and kept a stopping server alive: it is not offered."""
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
    }
    server = await asyncio.to_thread(ServerProcess, free_port(), env)
    try:
        polling = f"{server.url}/socket.io/?EIO=4&transport=polling"
        async with aiohttp.ClientSession() as http, http.get(polling) as response:
            assert response.status == 400
        server.process.terminate()
        await asyncio.to_thread(server.process.wait, 15)
    finally:
        server.stop()


async def _silent_engine_connection(http: aiohttp.ClientSession, url: str):
    """A WebSocket that opens an Engine.IO session and never sends the Socket.IO CONNECT."""
    ws = await http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0{")
    return ws


async def test_connections_that_never_finish_the_handshake_are_closed_and_bounded(
    aiohttp_server, settings, api
):
    bounded = settings.model_copy(
        update={"handshake_timeout_seconds": 1.0, "max_pending_handshakes": 2}
    )
    server = await aiohttp_server(await create_app(bounded))
    url = str(server.make_url("")).rstrip("/")
    account = await Api(url, api.http).register("ann")
    async with aiohttp.ClientSession() as http:
        silent = [await _silent_engine_connection(http, url) for _ in range(2)]
        # Two handshakes pending: a third connection is refused before it opens...
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await _silent_engine_connection(http, url)
        # ...and the silent ones are closed by the server once their time is up.
        for ws in silent:
            message = await asyncio.wait_for(ws.receive(), timeout=15)
            while message.type == aiohttp.WSMsgType.TEXT and message.data == "2":
                await ws.send_str("3")  # a ping answered: the peer is alive, only silent
                message = await asyncio.wait_for(ws.receive(), timeout=15)
            # Engine.IO's CLOSE packet, or the WebSocket's own close.
            closed = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert message.data == "1" or message.type in closed, message
            await ws.close()
    # A client that does complete its handshake connects and stays.
    client = await connect(url, account.access_token)
    try:
        await asyncio.sleep(1.5)
        assert (await client.call("workspace:list"))["ok"]
    finally:
        await client.sio.disconnect()
