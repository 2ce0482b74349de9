"""Per-connection rate limit: over it, rate_limited with retry_after, and nothing changes."""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client.parser import text_string_to_metric_families

from domain.rate_limit import TokenBucket
from realtime.app import create_app
from tests.pipeline_support import eventually
from tests.support import Api, connect, make_board, op

# The servers below refill one token in 1000 s: however slowly a test runs, its burst is all
# it gets. The refill itself is tested on the bucket, with its clock in hand (first test).
TRICKLE = 0.001


def test_token_bucket_allows_a_burst_then_the_rate():
    bucket = TokenBucket(rate=2, capacity=3)
    assert [bucket.take(100.0) for _ in range(3)] == [0, 0, 0]
    assert bucket.take(100.0) == 0.5  # one token comes back in half a second
    assert bucket.take(100.5) == 0
    assert bucket.take(110.0) == 0  # refilled, but never beyond capacity
    assert [bucket.take(110.0) for _ in range(3)] == [0, 0, 0.5]


async def test_events_over_the_limit_are_refused_and_change_nothing(
    aiohttp_server, settings, api, db
):
    limited = settings.model_copy(update={"rate_limit_per_second": TRICKLE, "rate_limit_burst": 5})
    server = await aiohttp_server(await create_app(limited))
    url = str(server.make_url("")).rstrip("/")
    account = await Api(url, api.http).register("ann")
    client = await connect(url, account.access_token)
    try:
        board = await make_board(client)  # three events of the burst of five
        replies = await asyncio.gather(
            *(
                client.call(
                    "task:create",
                    {
                        "op_id": op(),
                        "project_id": board.project_id,
                        "column_id": board.column_id,
                        "title": f"t{i}",
                    },
                )
                for i in range(6)
            )
        )
        accepted = [r for r in replies if r["ok"]]
        refused = [r for r in replies if not r["ok"]]
        assert len(accepted) == 2
        assert {r["error"]["code"] for r in refused} == {"rate_limited"}
        # Retry once the next token is back: no later than a token's refill time.
        assert all(0 < r["error"]["details"]["retry_after"] <= 1 / TRICKLE for r in refused)
        assert (
            await db.fetchval(
                "SELECT count(*) FROM tasks WHERE project_id = $1::uuid", board.project_id
            )
            == 2
        )
        # Another connection has its own bucket.
        other = await connect(url, account.access_token)
        assert (await other.call("workspace:list"))["ok"] is True
        await other.sio.disconnect()
    finally:
        await client.sio.disconnect()


async def _server(aiohttp_server, settings, **limits):
    server = await aiohttp_server(await create_app(settings.model_copy(update=limits)))
    return str(server.make_url("")).rstrip("/")


async def _gauge(api: Api, url: str, name: str) -> float:
    """A gauge of the server's /metrics, as it reads now."""
    async with api.http.get(f"{url}/metrics") as resp:
        text = await resp.text()
    families = text_string_to_metric_families(text)
    return sum(s.value for family in families for s in family.samples if s.name == name)


async def _refusal(url: str, token: str) -> dict:
    """The connect_error data of a refused connection."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    refused: list[dict] = []
    client.on("connect_error", lambda data: refused.append(data))
    with contextlib.suppress(socketio.exceptions.ConnectionError):
        await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=5)
    if client.connected:
        await client.disconnect()
        raise AssertionError("the connection was accepted")
    await client.wait()
    # The client sees {"message": ..., "data": <the error object of the wire contract>}.
    return dict(refused[0]["data"])


async def test_an_account_has_one_budget_across_its_connections(aiohttp_server, settings, api):
    url = await _server(
        aiohttp_server,
        settings,
        rate_limit_account_per_second=TRICKLE,
        rate_limit_account_burst=4,
    )
    account = await Api(url, api.http).register("eve")
    first = await connect(url, account.access_token)
    second = await connect(url, account.access_token)
    try:
        replies = [await c.call("workspace:list") for c in (first, second, first, second, first)]
        assert [r["ok"] for r in replies] == [True, True, True, True, False]
        assert replies[-1]["error"]["code"] == "rate_limited"
        assert "account" in replies[-1]["error"]["message"]
        assert 0 < replies[-1]["error"]["details"]["retry_after"] <= 1 / TRICKLE
        other = await Api(url, api.http).register("fay")  # another account is unaffected
        stranger = await connect(url, other.access_token)
        assert (await stranger.call("workspace:list"))["ok"]
        await stranger.sio.disconnect()
    finally:
        for client in (first, second):
            await client.sio.disconnect()


async def test_an_account_may_hold_only_so_many_connections(aiohttp_server, settings, api):
    url = await _server(aiohttp_server, settings, max_connections_per_user=2)
    account = await Api(url, api.http).register("gus")
    held = [await connect(url, account.access_token) for _ in range(2)]
    refused = await _refusal(url, account.access_token)
    assert refused["code"] == "rate_limited" and refused["details"]["retry_after"] > 0
    assert "connections" in refused["message"]
    await held[0].sio.disconnect()
    # The server frees the slot once it has handled the disconnect; its gauge tells when.
    await eventually(
        lambda: _gauge(api, url, "boardroom_connected_sockets"),
        lambda n: n == 1,
        what="the disconnect handled",
    )
    again = await connect(url, account.access_token)  # a slot is free again
    assert (await again.call("workspace:list"))["ok"]
    for client in (held[1], again):
        await client.sio.disconnect()


async def test_an_overloaded_instance_refuses_new_connections_and_keeps_the_old(
    aiohttp_server, settings, api
):
    url = await _server(aiohttp_server, settings, max_connections=2)
    accounts = [await Api(url, api.http).register(f"h{i}") for i in range(3)]
    held = [await connect(url, a.access_token) for a in accounts[:2]]
    refused = await _refusal(url, accounts[2].access_token)
    assert refused["code"] == "unavailable" and "busy" in refused["message"]
    assert refused["details"]["retry_after"] > 0
    assert all([(await c.call("workspace:list"))["ok"] for c in held])
    for client in held:
        await client.sio.disconnect()


async def test_a_lagging_event_loop_sheds_new_connections(aiohttp_server, settings, api):
    # A threshold below any real lag: the instance counts as lagging once the monitor has a
    # full window of samples, which its gauge shows.
    threshold_ms = 0.000001
    url = await _server(aiohttp_server, settings, max_loop_lag_ms=threshold_ms)
    account = await Api(url, api.http).register("ida")
    await eventually(
        lambda: _gauge(api, url, "boardroom_event_loop_lag_seconds"),
        lambda lag: lag > threshold_ms / 1000,
        what="a lag over the threshold",
    )
    refused = await _refusal(url, account.access_token)
    assert refused["code"] == "unavailable" and "falling behind" in refused["message"]


async def test_malformed_messages_spend_the_same_budget(aiohttp_server, settings, api):
    """Garbage is answered, but not for free: past the burst it is refused rate_limited."""
    import json

    limited = settings.model_copy(update={"rate_limit_per_second": TRICKLE, "rate_limit_burst": 3})
    server = await aiohttp_server(await create_app(limited))
    url = str(server.make_url("")).rstrip("/")
    account = await Api(url, api.http).register("ann")
    async with api.http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket") as ws:
        assert (await ws.receive_str()).startswith("0{")
        await ws.send_str("40" + json.dumps({"token": account.access_token}))
        assert (await ws.receive_str()).startswith("40{")
        codes = []
        for ack_id in range(1, 6):
            await ws.send_str(f'42{ack_id}["workspace:create",{{"op_id":"a","name":')
            reply = await ws.receive_str()
            while not reply.startswith("43"):  # skip a ping ("2") if one comes
                reply = await ws.receive_str()
            codes.append(json.loads(reply[len(f"43{ack_id}") :])[0]["error"]["code"])
    assert codes == ["invalid_payload"] * 3 + ["rate_limited"] * 2
