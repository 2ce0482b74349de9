"""Per-connection rate limit: over it, rate_limited with retry_after, and nothing changes."""

from __future__ import annotations

import asyncio

from domain.rate_limit import TokenBucket
from realtime.app import create_app
from tests.support import Api, connect, make_board, op


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
    limited = settings.model_copy(update={"rate_limit_per_second": 1, "rate_limit_burst": 5})
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
        assert all(0 < r["error"]["details"]["retry_after"] <= 1 for r in refused)
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
