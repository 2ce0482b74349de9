"""Logout and refresh-token reuse end a login's live sockets on every instance at once."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import jwt
import pytest
import socketio

from auth.tokens import AccessTokens
from realtime.app import create_app
from tests.support import JWT_SECRET, Api, connect


async def test_logout_disconnects_that_login_everywhere_and_keeps_other_logins(two_servers):
    first, second = two_servers
    async with aiohttp.ClientSession() as http:
        api = Api(first.url, http)
        phone = await api.register("ann")
        status, laptop = await api.post(
            "/api/v1/auth/login", {"email": phone.email, "password": phone.password}
        )
        assert status == 200
        ended: list[dict] = []
        here = await connect(first.url, phone.access_token)
        there = await connect(second.url, phone.access_token)
        other_login = await connect(second.url, laptop["access_token"])
        gone = [asyncio.Event(), asyncio.Event()]
        for client, event in zip((here, there), gone, strict=True):
            client.sio.on("session:ended", lambda data: ended.append(data))
            client.sio.on("disconnect", lambda *_, event=event: event.set())
        try:
            status, _ = await api.post(
                "/api/v1/auth/logout", {"refresh_token": phone.refresh_token}
            )
            assert status == 204
            # The server ends them itself: left alone, they would live until their tokens expire.
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in gone)), timeout=10)
            assert not here.sio.connected and not there.sio.connected
            assert ended == [{"reason": "logout"}, {"reason": "logout"}]
            # The other login of the same user is untouched.
            assert other_login.sio.connected
            assert (await other_login.ok("workspace:list"))["ok"]
            # The logged-out access token no longer opens a socket, though it has not expired.
            refused = socketio.AsyncClient(reconnection=False)
            with pytest.raises(socketio.exceptions.ConnectionError):
                await refused.connect(
                    first.url,
                    auth={"token": phone.access_token},
                    transports=["websocket"],
                    wait_timeout=5,
                )
            if refused.eio.state != "disconnected":
                await refused.eio.disconnect(abort=True)
        finally:
            for client in (here, there, other_login):
                if client.sio.connected:
                    await client.sio.disconnect()


async def _post_with_token(
    http: aiohttp.ClientSession, url: str, token: str, body: dict
) -> tuple[int, dict]:
    async with http.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_a_password_change_ends_every_login_on_every_instance(two_servers, services):
    first, second = two_servers
    async with aiohttp.ClientSession() as http:
        api = Api(first.url, http)
        phone = await api.register("bea")
        status, laptop = await api.post(
            "/api/v1/auth/login", {"email": phone.email, "password": phone.password}
        )
        sockets = [
            await connect(first.url, phone.access_token),
            await connect(second.url, laptop["access_token"]),
        ]
        gone = [asyncio.Event(), asyncio.Event()]
        ended: list[dict] = []
        for client, event in zip(sockets, gone, strict=True):
            client.sio.on("session:ended", lambda data: ended.append(data))
            client.sio.on("disconnect", lambda *_, event=event: event.set())
        url = f"{first.url}/api/v1/auth/password"

        # Wrong current password, weak new one, no token: refused, nothing changes.
        status, body = await _post_with_token(
            http,
            url,
            phone.access_token,
            {"current_password": "not it at all", "new_password": "a much better one"},
        )
        assert status == 401 and body["error"]["details"]["field"] == "current_password"
        status, body = await _post_with_token(
            http,
            url,
            phone.access_token,
            {"current_password": phone.password, "new_password": "short"},
        )
        assert status == 400 and [d["field"] for d in body["error"]["details"]] == ["new_password"]
        status, body = await api.post(
            "/api/v1/auth/password",
            {"current_password": phone.password, "new_password": "a much better one"},
        )
        assert status == 401
        assert all(client.sio.connected for client in sockets)

        status, fresh = await _post_with_token(
            http,
            url,
            phone.access_token,
            {"current_password": phone.password, "new_password": "a much better one"},
        )
        assert status == 200, fresh
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in gone)), timeout=10)
        assert ended == [{"reason": "password_changed"}] * 2
        # Every earlier login is over; the new session works; only the new password logs in.
        for token in (phone.refresh_token, laptop["refresh_token"]):
            status, _ = await api.post("/api/v1/auth/refresh", {"refresh_token": token})
            assert status == 401
        status, _ = await api.post(
            "/api/v1/auth/login", {"email": phone.email, "password": phone.password}
        )
        assert status == 401
        status, _ = await api.post(
            "/api/v1/auth/login", {"email": phone.email, "password": "a much better one"}
        )
        assert status == 200
        renewed = await connect(second.url, fresh["access_token"])
        assert (await renewed.ok("workspace:list"))["ok"]
        await renewed.sio.disconnect()


GRACE = 5.0  # seconds to renew after session:expired
FIRST_TOKEN, RENEWED_TOKEN = 4, 7  # lifetimes, in whole seconds as tokens count them


@pytest.fixture
async def short_grace_url(aiohttp_server, settings):
    app = await create_app(settings.model_copy(update={"session_expiry_grace_seconds": GRACE}))
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


def _short_token(access_token: str, seconds: int) -> str:
    """A genuine access token of the same login that expires in ``seconds``."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return AccessTokens(JWT_SECRET, seconds).issue(
        uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    )


async def test_an_expiring_token_gets_a_signal_renewal_keeps_the_socket_and_silence_ends_it(
    short_grace_url,
):
    url = short_grace_url
    async with aiohttp.ClientSession() as http:
        account = await Api(url, http).register("cal")
        other = await Api(url, http).register("dan")
    client = await connect(url, _short_token(account.access_token, FIRST_TOKEN))
    expired: list[dict] = []
    signals_at_disconnect: list[int] = []
    gone = asyncio.Event()
    signalled = asyncio.Event()

    def on_expired(data: dict) -> None:
        expired.append(data)
        signalled.set()

    def on_disconnect(*_: object) -> None:
        signals_at_disconnect.append(len(expired))
        gone.set()

    client.sio.on("session:expired", on_expired)
    client.sio.on("disconnect", on_disconnect)
    try:
        # Expiry: a clear signal, with the grace left and how to renew.
        await asyncio.wait_for(signalled.wait(), timeout=FIRST_TOKEN + 10)
        first_grace_over = time.monotonic() + GRACE
        assert expired[0] == {
            "reason": "access_token_expired",
            "grace_seconds": GRACE,
            "renew_with": "session:renew",
        }
        # Another account's token, or garbage, does not renew it.
        refused = await client.call("session:renew", {"access_token": other.access_token})
        assert refused["error"]["details"]["reason"] == "other_user"
        garbage = await client.call("session:renew", {"access_token": "x"})
        assert garbage["error"]["code"] == "unauthorized"
        renewed = await client.ok(
            "session:renew", {"access_token": _short_token(account.access_token, RENEWED_TOKEN)}
        )
        assert renewed["data"]["expires_at"] > time.time()
        # Past the first grace, the renewed socket still works (its new token outlives it).
        await asyncio.sleep(first_grace_over + 0.5 - time.monotonic())
        assert client.sio.connected and (await client.ok("workspace:list"))["ok"]
        # This time nobody renews: signal at expiry, disconnect one grace period later.
        await asyncio.wait_for(gone.wait(), timeout=RENEWED_TOKEN + GRACE + 10)
        # Ended after the second signal: the first grace, which ran out before the renewed
        # token did, ended nothing.
        assert len(expired) == 2 and signals_at_disconnect == [2]
    finally:
        if client.sio.connected:
            await client.sio.disconnect()
        await client.sio.wait()  # the client's tasks end with its connection
