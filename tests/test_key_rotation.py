"""Rotating the token-signing key: the new key signs, the old one still verifies, so nobody is
logged out; a key that is long but guessable is refused at start-up."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
import socketio

from auth.tokens import AccessTokens, SigningKeys, secret_weakness
from realtime.settings import Mode, Settings, SettingsError
from tests.conftest import Services, app_settings
from tests.support import JWT_SECRET, Api, connect

NEW_KEY = "rotated-key-Q7v2mX9pL4sR8tW1zY6bN3cF5hJ0kD"
STRANGER_KEY = "some-other-deployment-key-aB3dE5gH7jK9mN1pQ"


@pytest.fixture
def settings(services: Services) -> Settings:
    """A server in the middle of a rotation: it signs with NEW_KEY and still accepts tokens of
    the key it had before (the suite's JWT_SECRET)."""
    during_rotation = {"jwt_secret": NEW_KEY, "jwt_verify_secrets": [JWT_SECRET]}
    return app_settings(services.database_url, services.redis_url).model_copy(
        update=during_rotation
    )


def _token(key: str, account_token: str, user_id: str) -> str:
    session = uuid.UUID(jwt.decode(account_token, options={"verify_signature": False})["sid"])
    return AccessTokens(key, 900).issue(uuid.UUID(user_id), session, now=time.time())


async def test_tokens_of_the_previous_key_still_connect_and_new_ones_use_the_new_key(
    api: Api, base_url: str
):
    account = await api.register("ann")
    header = jwt.get_unverified_header(account.access_token)
    assert header["alg"] == "HS256" and header["kid"] == SigningKeys.key_id(NEW_KEY)
    assert jwt.decode(account.access_token, NEW_KEY, algorithms=["HS256"], issuer="boardroom")

    for key in (JWT_SECRET, NEW_KEY):
        client = await connect(base_url, _token(key, account.access_token, account.user_id))
        try:
            assert (await client.ok("workspace:list"))["ok"] is True
        finally:
            await client.sio.disconnect()

    status, body = await api.post("/api/v1/auth/refresh", {"refresh_token": account.refresh_token})
    assert status == 200, body
    assert jwt.get_unverified_header(body["access_token"])["kid"] == SigningKeys.key_id(NEW_KEY)


async def test_a_token_of_a_key_the_server_does_not_hold_is_refused(api: Api, base_url: str):
    account = await api.register("ann")
    forged = _token(STRANGER_KEY, account.access_token, account.user_id)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(base_url, forged)


def test_once_the_old_key_is_dropped_its_tokens_are_refused():
    user, session = uuid.uuid4(), uuid.uuid4()
    old_token = AccessTokens(JWT_SECRET, 900).issue(user, session)
    during = AccessTokens(SigningKeys(NEW_KEY, (JWT_SECRET,)), 900)
    after = AccessTokens(SigningKeys(NEW_KEY), 900)
    assert during.verify(old_token).user_id == user
    with pytest.raises(Exception, match="invalid"):
        after.verify(old_token)
    # A token from before key ids (no kid header) is tried against every key held.
    legacy = jwt.encode(
        {
            "sub": str(user),
            "sid": str(session),
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": "j",
            "iss": "boardroom",
            "typ": "access",
        },
        JWT_SECRET,
        algorithm="HS256",
    )
    assert during.verify(legacy).session_id == session


@pytest.mark.parametrize(
    "secret",
    ["x" * 40, "password" * 5, "0123456789abcdef" * 3, "abcdabdcbadcabcdabcdbadcabcdacbd"],
    ids=["one-character", "repeated-word", "repeated-sequence", "four-letters"],
)
def test_a_long_but_guessable_signing_key_is_refused(secret):
    assert secret_weakness(secret) is not None
    with pytest.raises(SettingsError, match="BOARDROOM_JWT_SECRET is refused"):
        Settings(mode=Mode.PRODUCTION, jwt_secret=secret)


def test_a_guessable_verification_key_is_refused_too():
    with pytest.raises(SettingsError, match="BOARDROOM_JWT_VERIFY_SECRETS"):
        Settings(mode=Mode.PRODUCTION, jwt_secret=NEW_KEY, jwt_verify_secrets=["y" * 40])


def test_random_keys_pass():
    import secrets

    for _ in range(50):
        assert secret_weakness(secrets.token_urlsafe(48)) is None
        assert secret_weakness(secrets.token_hex(16)) is None
