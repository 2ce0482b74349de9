"""Logout and refresh-token reuse end a login's live sockets on every instance at once."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import socketio

from tests.support import Api, connect


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
            started = time.monotonic()
            status, _ = await api.post(
                "/api/v1/auth/logout", {"refresh_token": phone.refresh_token}
            )
            assert status == 204
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in gone)), timeout=2)
            assert time.monotonic() - started < 1
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

        started = time.monotonic()
        status, fresh = await _post_with_token(
            http,
            url,
            phone.access_token,
            {"current_password": phone.password, "new_password": "a much better one"},
        )
        assert status == 200, fresh
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in gone)), timeout=2)
        assert time.monotonic() - started < 1.5  # argon2 twice, then every socket within 1 s
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
