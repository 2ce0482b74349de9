"""Socket.IO handshake: access token in the auth payload only, origin allowlist."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import socketio

from auth.tokens import AccessTokens
from tests.support import JWT_SECRET, connect


async def _refused(url: str, token: object = None, **kwargs) -> dict:
    sio = socketio.AsyncClient(reconnection=False)
    errors: list = []

    @sio.on("connect_error")
    async def on_error(data):
        errors.append(data)

    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            url,
            auth=None if token is None else {"token": token},
            transports=["websocket"],
            wait_timeout=5,
            **kwargs,
        )
    await _close(sio)
    assert errors, "the server gave no connect_error"
    # The client sees {"message": ..., "data": <the error object of the wire contract>}.
    assert errors[0]["message"]
    return errors[0].get("data") or {}


async def test_a_valid_token_connects(api, client_factory):
    account = await api.register("ann")
    client = await client_factory(account.access_token)
    assert client.sio.connected


async def test_no_token_is_refused_as_unauthorized(base_url):
    error = await _refused(base_url)
    assert error["code"] == "unauthorized"
    assert error["details"]["reason"] == "missing"


async def test_token_in_the_query_string_is_ignored(api, base_url):
    account = await api.register("ann")
    error = await _refused(f"{base_url}?token={account.access_token}")
    assert error["code"] == "unauthorized"


async def test_expired_token_is_refused(api, base_url):
    account = await api.register("ann")
    session = uuid.UUID(
        jwt.decode(account.access_token, options={"verify_signature": False})["sid"]
    )
    stale = AccessTokens(JWT_SECRET, 900).issue(
        uuid.UUID(account.user_id), session, now=time.time() - 3600
    )
    error = await _refused(base_url, stale)
    assert error["details"]["reason"] == "expired"


@pytest.mark.parametrize(
    "forge",
    [
        lambda sub: jwt.encode(_claims(sub), "another-secret-that-is-also-long-enough!!", "HS256"),
        lambda sub: jwt.encode(_claims(sub), None, "none"),
        lambda sub: jwt.encode({**_claims(sub), "typ": "refresh"}, JWT_SECRET, "HS256"),
        lambda sub: "not.a.jwt",
    ],
    ids=["wrong-key", "alg-none", "wrong-type", "garbage"],
)
async def test_forged_tokens_are_refused(api, base_url, forge):
    account = await api.register("ann")
    error = await _refused(base_url, forge(account.user_id))
    assert error["code"] == "unauthorized"
    assert error["details"]["reason"] == "invalid"


async def _close(sio: socketio.AsyncClient) -> None:
    """A refused client keeps its Engine.IO connection (only the Socket.IO namespace was
    refused) and its HTTP session; close both, or their tasks outlive the test's event loop."""
    if sio.eio.state != "disconnected":
        await sio.eio.disconnect(abort=True)
    if sio.eio.http is not None and not sio.eio.http.closed:
        await sio.eio.http.close()


def _claims(sub: str) -> dict:
    now = int(time.time())
    return {
        "sub": sub,
        "iat": now,
        "exp": now + 600,
        "jti": "x",
        "iss": "boardroom",
        "typ": "access",
    }


async def test_handshake_from_a_foreign_origin_is_refused(api, base_url):
    account = await api.register("ann")
    sio = socketio.AsyncClient(reconnection=False)
    # Refused by the engine before Socket.IO sees it: an HTTP 400, not a connect_error.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            base_url,
            auth={"token": account.access_token},
            transports=["websocket"],
            headers={"Origin": "http://evil.example"},
            wait_timeout=5,
        )
    await _close(sio)
    client = await connect(
        base_url, account.access_token, headers={"Origin": "http://allowed.example"}
    )
    assert client.sio.connected
    await client.sio.disconnect()
