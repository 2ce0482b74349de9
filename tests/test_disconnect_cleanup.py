"""Sockets that leave are forgotten, however they leave: one at a time or many at once (the
end of a load test, a network blip that drops a whole office) all leave the registry of each
user's sockets and free their connection slot.

The failure this guards against was a race seen only under load (a benchmark's 500 clients
leaving at once: Engine.IO had dropped the session before the disconnect handler read it, and
774 entries stayed in the registry). An idle test server does not lose that race, so these
tests pin the behaviour on both ways of leaving; the benchmark's server log (no
"disconnect async handler error") showed the fix.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from realtime.settings import Settings
from tests.pipeline_support import eventually


@pytest.mark.parametrize("how", ["disconnect", "transport_drop"])
async def test_sockets_that_disconnect_together_all_leave_the_registry(
    api, client_factory, settings: Settings, how: str
) -> None:
    accounts = [await api.register(f"crowd{n}") for n in range(5)]
    clients = [await client_factory(account.access_token) for account in accounts for _ in range(6)]
    store = redis.Redis.from_url(settings.redis_url)
    keys = [f"{settings.redis_channel}:sids:{uuid.UUID(a.user_id)}" for a in accounts]
    try:
        assert [await store.scard(key) for key in keys] == [6] * 5
        if how == "disconnect":  # the client says goodbye (Socket.IO and Engine.IO packets)
            await asyncio.gather(*(client.sio.disconnect() for client in clients))
        else:  # the connection just ends (process killed, network gone)
            await asyncio.gather(*(client.sio.eio.ws.close() for client in clients))

        async def registered() -> list[int]:
            return [await store.scard(key) for key in keys]

        await eventually(registered, lambda counts: counts == [0] * 5, timeout=10, what="forgotten")
        # The connection slots are free again: each account may open its maximum at once.
        again = [
            await client_factory(accounts[0].access_token)
            for _ in range(settings.max_connections_per_user)
        ]
        assert all(client.sio.connected for client in again)
    finally:
        await store.aclose()
