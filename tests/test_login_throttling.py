"""Login throttling (issue 5, item 3): at most N failed logins per address and hour from
unknown devices, answered 429 with Retry-After before the password is checked; unknown
addresses behave the same; the owner's known device keeps its own allowance."""

from __future__ import annotations

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
