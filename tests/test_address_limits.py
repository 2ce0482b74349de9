"""Credential checks per client address (ADR 0040): one address gets so many logins,
registrations and password changes per minute, whatever the accounts and on every instance;
behind a trusted proxy the client's own address counts, and a forged X-Forwarded-For buys
nothing. The windows run on a clock the test sets, so no assertion depends on when it runs."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from auth.address_budget import RedisAddressBudget
from handlers.address_limits import ADDRESS_BUDGET
from handlers.proxies import client_address, trusted_networks
from realtime.app import REDIS, create_app
from tests.support import Api, connect, make_board, unique_email

LIMIT = 4


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a minute

    def __call__(self) -> float:
        return self.now


async def _server(aiohttp_server: Any, settings: Any, clock: Clock, **update: Any) -> str:
    app = await create_app(settings.model_copy(update=update))
    # The budget the app made, on the app's own Redis and channel, with the test's clock.
    app[ADDRESS_BUDGET] = RedisAddressBudget(app[REDIS], settings.redis_channel, LIMIT, clock)
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def _login(http: aiohttp.ClientSession, url: str, forwarded: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    body = {"email": unique_email("sprayed"), "password": "spring2026 spring"}
    async with http.post(f"{url}/api/v1/auth/login", json=body, headers=headers) as resp:
        return resp.status, await resp.json(), resp.headers.get("Retry-After")


async def test_one_address_gets_so_many_credential_checks_per_minute_on_every_instance(
    aiohttp_server, settings
):
    settings = settings.model_copy(update={"redis_channel": f"limits-{uuid.uuid4().hex[:8]}"})
    clock = Clock()
    first = await _server(aiohttp_server, settings, clock)
    second = await _server(aiohttp_server, settings, clock)
    async with aiohttp.ClientSession() as http:
        owner = await Api(first, http).register("owner")  # spends one check
        answers = [await _login(http, (first, second)[i % 2]) for i in range(LIMIT)]
        # Each a different account, half of them on each instance: one budget.
        assert [status for status, _, _ in answers] == [401] * (LIMIT - 1) + [429]
        status, body, retry_after = answers[-1]
        assert body["error"]["code"] == "rate_limited"
        assert body["error"]["details"]["retry_after"] == 60
        assert retry_after == "60"
        # Registration and the current-password check spend the same budget.
        status, body = await Api(second, http).post(
            "/api/v1/auth/register",
            {"email": unique_email("new"), "password": "correct horse battery"},
        )
        assert (status, body["error"]["code"]) == (429, "rate_limited")
        async with http.post(
            f"{first}/api/v1/auth/password",
            json={"current_password": owner.password, "new_password": "a brand new secret"},
            headers={"Authorization": f"Bearer {owner.access_token}"},
        ) as resp:
            assert resp.status == 429
        # A refresh checks no password: not counted, not refused.
        status, _ = await Api(first, http).post(
            "/api/v1/auth/refresh", {"refresh_token": owner.refresh_token}
        )
        assert status == 200

        clock.now += 45
        status, body, retry_after = await _login(http, second)
        assert (status, retry_after) == (429, "15")  # the rest of the minute
        clock.now += 15  # the next minute: a fresh budget
        assert (await _login(http, first))[0] == 401


async def test_behind_a_trusted_proxy_each_client_has_its_own_budget(aiohttp_server, settings):
    clock = Clock()
    url = await _server(aiohttp_server, settings, clock, trusted_proxies=["127.0.0.1/32"])
    async with aiohttp.ClientSession() as http:
        alice = [await _login(http, url, "203.0.113.7") for _ in range(LIMIT + 1)]
        assert [status for status, _, _ in alice] == [401] * LIMIT + [429]
        # A client adding addresses of its own to the header: the proxy appends the real one,
        # and the right-most address not of a trusted proxy is the one that counts.
        assert (await _login(http, url, "198.51.100.1, 203.0.113.7"))[0] == 429
        assert (await _login(http, url, "203.0.113.8"))[0] == 401  # someone else


async def test_from_an_untrusted_peer_the_forwarded_header_is_ignored(aiohttp_server, settings):
    clock = Clock()
    url = await _server(aiohttp_server, settings, clock)  # no trusted proxies
    async with aiohttp.ClientSession() as http:
        answers = [await _login(http, url, f"203.0.113.{i}") for i in range(LIMIT + 1)]
    assert [status for status, _, _ in answers] == [401] * LIMIT + [429]


async def test_changes_record_the_client_address_of_the_socket(aiohttp_server, settings, db):
    """The recorded origin of a socket's changes is the client's address (python-engineio
    itself reports 127.0.0.1 for every aiohttp connection), proxy-resolved like REST's."""
    url = await _server(aiohttp_server, settings, Clock(), trusted_proxies=["127.0.0.0/8"])
    async with aiohttp.ClientSession() as http:
        account = await Api(url, http).register("proxied")
    client = await connect(url, account.access_token, headers={"X-Forwarded-For": "203.0.113.9"})
    try:
        board = await make_board(client)
    finally:
        await client.sio.disconnect()
    payload = await db.fetchval(
        "SELECT payload::text FROM outbox WHERE payload->>'project_id' = $1 ORDER BY id LIMIT 1",
        board.project_id,
    )
    assert orjson.loads(payload)["origin"]["ip"] == "203.0.113.9"


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.1.5", "203.0.113.7", "203.0.113.7"),  # through the load balancer
        ("10.0.1.5", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # a forged first entry
        ("10.0.1.5", "203.0.113.7, 10.0.2.9", "203.0.113.7"),  # two proxies of ours
        ("10.0.1.5", "", "10.0.1.5"),  # no header: the proxy itself
        ("10.0.1.5", "not-an-address", "10.0.1.5"),  # garbage is not believed
        ("10.0.1.5", "10.0.2.9", "10.0.2.9"),  # only proxies: the farthest one
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),  # not from a proxy: ignored
    ],
)
def test_the_client_address_is_the_right_most_untrusted_hop(peer, forwarded, client):
    assert client_address(peer, forwarded, trusted_networks(["10.0.0.0/16"])) == client
