"""REST authentication: argon2id, short-lived pinned JWTs, rotating refresh tokens."""

from __future__ import annotations

import jwt

from tests.support import unique_email


async def test_register_stores_an_argon2id_hash_at_the_owasp_floor(api, db):
    account = await api.register("ann")
    stored = await db.fetchval("SELECT password_hash FROM users WHERE email = $1", account.email)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert account.password not in stored


async def test_access_token_is_short_lived_hs256_with_the_required_claims(api):
    account = await api.register("ann")
    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert claims["sub"] == account.user_id
    assert claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    assert {"jti", "iss"} <= claims.keys()


async def test_an_e_mail_address_registers_once_whatever_its_case(api, db):
    account = await api.register("ann")
    status, body = await api.post(
        "/api/v1/auth/register",
        {"email": account.email.upper(), "password": "another password", "display_name": "X"},
    )
    assert status == 409
    assert body["error"]["code"] == "conflict"
    assert (
        await db.fetchval("SELECT count(*) FROM users WHERE lower(email) = $1", account.email) == 1
    )


async def test_login_with_right_and_wrong_password(api):
    account = await api.register("ann")
    status, body = await api.post(
        "/api/v1/auth/login", {"email": account.email, "password": account.password}
    )
    assert status == 200
    assert body["user"]["id"] == account.user_id
    status, wrong = await api.post(
        "/api/v1/auth/login", {"email": account.email, "password": "not the password"}
    )
    assert status == 401
    assert wrong["error"]["code"] == "unauthorized"
    status, unknown = await api.post(
        "/api/v1/auth/login", {"email": unique_email(), "password": "not the password"}
    )
    assert status == 401
    # The answer does not reveal whether the account exists.
    assert unknown["error"] == wrong["error"]


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(api, db):
    account = await api.register("ann")
    status, first = await api.post("/api/v1/auth/refresh", {"refresh_token": account.refresh_token})
    assert status == 200
    assert first["refresh_token"] != account.refresh_token

    # The spent token is presented again: someone copied it. The family is revoked ...
    status, body = await api.post("/api/v1/auth/refresh", {"refresh_token": account.refresh_token})
    assert status == 401
    assert body["error"]["details"]["reason"] == "reused"
    # ... so the legitimate newest token is dead too.
    status, body = await api.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert status == 401
    live = await db.fetchval(
        "SELECT count(*) FROM refresh_tokens WHERE user_id = $1::uuid AND revoked_at IS NULL",
        account.user_id,
    )
    assert live == 0


async def test_refresh_tokens_are_stored_only_as_digests(api, db):
    account = await api.register("ann")
    hashes = await db.fetch(
        "SELECT token_hash FROM refresh_tokens WHERE user_id = $1::uuid", account.user_id
    )
    assert len(hashes) == 1
    assert account.refresh_token.encode() not in bytes(hashes[0]["token_hash"])


async def test_logout_revokes_the_refresh_token(api):
    account = await api.register("ann")
    status, _ = await api.post("/api/v1/auth/logout", {"refresh_token": account.refresh_token})
    assert status == 204
    status, body = await api.post("/api/v1/auth/refresh", {"refresh_token": account.refresh_token})
    assert status == 401
    assert body["error"]["code"] == "unauthorized"
