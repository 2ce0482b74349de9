"""Login throttling (issue 5, item 3): at most N failed logins per address and hour from
unknown devices, answered 429 with Retry-After before the password is checked; unknown
addresses behave the same; the owner's known device keeps its own allowance."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from realtime.app import create_app
from tests.support import Api, unique_email

LIMIT = 3


@pytest.fixture
async def api(aiohttp_server, settings):
    app = await create_app(
        settings.model_copy(
            update={"login_failures_per_hour": LIMIT, "login_device_failures_per_hour": 2}
        )
    )
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as http:
        yield Api(str(server.make_url("")).rstrip("/"), http)


async def _login(api: Api, email: str, password: str, device_token: str | None = None):
    body = {"email": email, "password": password}
    if device_token:
        body["device_token"] = device_token
    async with api.http.post(f"{api.base_url}/api/v1/auth/login", json=body) as resp:
        return resp.status, await resp.json(), resp.headers.get("Retry-After")


async def test_an_attacker_is_throttled_without_locking_out_the_owner(api, db):
    owner = await api.register("owner")
    status, body = await api.post(
        "/api/v1/auth/login", {"email": owner.email, "password": owner.password}
    )
    assert status == 200
    device = body["device_token"]  # the owner's browser keeps this

    for _ in range(LIMIT):
        status, _, _ = await _login(api, owner.email, "guess guess guess")
        assert status == 401
    # Over the limit: refused before the password is looked at, even the right one.
    status, body, retry_after = await _login(api, owner.email, owner.password)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert int(retry_after) > 3000 and body["error"]["details"]["retry_after"] > 3000
    # The owner, on a device that logged in before, is not locked out.
    status, body, _ = await _login(api, owner.email, owner.password, device)
    assert status == 200 and body["device_token"]
    # A forged or foreign device token is just an unknown device.
    status, _, _ = await _login(api, owner.email, owner.password, device + "x")
    assert status == 429
    # A known device has its own, smaller allowance.
    for _ in range(2):
        assert (await _login(api, owner.email, "nope nope", device))[0] == 401
    assert (await _login(api, owner.email, owner.password, device))[0] == 429
    failures = await db.fetchval(
        "SELECT count(*) FROM login_failures WHERE email_key = $1", owner.email.lower()
    )
    assert failures == LIMIT + 2  # throttled attempts are not even recorded


async def test_throttling_reveals_nothing_about_which_accounts_exist(api):
    owner = await api.register("someone")
    ghost = unique_email("ghost")
    answers = []
    for email in (owner.email, ghost):
        seen = [(await _login(api, email, "wrong password 1"))[:2] for _ in range(LIMIT + 1)]
        answers.append([(status, body["error"]["code"]) for status, body in seen])
    assert answers[0] == answers[1] == [(401, "unauthorized")] * LIMIT + [(429, "rate_limited")]


async def test_the_limit_holds_when_every_guess_arrives_at_once_on_two_instances(
    aiohttp_server, settings, api
):
    """Many wrong passwords and the right one, sent together to two instances: no more
    passwords are checked than the limit allows (each check answers 401 or 200; the rest are
    429 before any check)."""
    limited = settings.model_copy(update={"login_failures_per_hour": LIMIT})
    second = await aiohttp_server(await create_app(limited))
    other = Api(str(second.make_url("")).rstrip("/"), api.http)
    owner = await api.register("owner")
    guesses = [(api if i % 2 else other, f"guess number {i}") for i in range(40)]
    guesses.insert(17, (other, owner.password))
    answers = await asyncio.gather(*(_login(a, owner.email, password) for a, password in guesses))
    statuses = [status for status, _, _ in answers]
    checked = [s for s in statuses if s in (200, 401)]
    assert len(checked) <= LIMIT, statuses
    assert set(statuses) <= {200, 401, 429} and statuses.count(429) >= len(guesses) - LIMIT
    # However the race went, the budget is spent: even the right password waits now.
    assert (await _login(api, owner.email, owner.password))[0] == 429


async def test_the_current_password_check_spends_the_same_budget(api):
    """An access token does not buy unlimited guesses of the account's password."""
    owner = await api.register("owner")
    headers = {"Authorization": f"Bearer {owner.access_token}"}
    statuses = []
    for i in range(LIMIT + 2):
        async with api.http.post(
            f"{api.base_url}/api/v1/auth/password",
            json={"current_password": f"wrong guess {i}", "new_password": "a brand new secret"},
            headers=headers,
        ) as response:
            statuses.append(response.status)
    assert statuses == [401] * LIMIT + [429, 429]
    assert (await _login(api, owner.email, owner.password))[0] == 429  # one budget
