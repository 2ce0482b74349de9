"""Bad REST input: each case has its code, names the field, and changes nothing."""

from __future__ import annotations

import pytest

from tests.support import unique_email

REGISTER = "/api/v1/auth/register"


async def _user_count(db) -> int:
    return await db.fetchval("SELECT count(*) FROM users")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": "long enough pw", "display_name": "X"}, "email"),
        ({"email": "a@example.com", "password": 12345678901, "display_name": "X"}, "password"),
        ({"email": "not-an-address", "password": "long enough pw", "display_name": "X"}, "email"),
        ({"email": "a@example.com", "password": "short", "display_name": "X"}, "password"),
        (
            {"email": "a@example.com", "password": "long enough pw", "display_name": "X" * 101},
            "display_name",
        ),
        ({"email": "a@example.com", "password": "p" * 257, "display_name": "X"}, "password"),
        (
            {
                "email": "a@example.com",
                "password": "long enough pw",
                "display_name": "X",
                "admin": 1,
            },
            "admin",
        ),
    ],
)
async def test_invalid_registration_names_the_field(api, db, body, field):
    before = await _user_count(db)
    status, reply = await api.post(REGISTER, body)
    assert status == 400
    assert reply["error"]["code"] == "invalid_payload"
    assert field in [d["field"] for d in reply["error"]["details"]]
    assert await _user_count(db) == before


@pytest.mark.parametrize("raw", [b'{"email": "a@example.com",', b"[1, 2]", b"", b"null"])
async def test_malformed_json_is_invalid_payload(api, db, raw):
    before = await _user_count(db)
    status, reply = await api.post(REGISTER, raw=raw)
    assert status == 400
    assert reply["error"]["code"] == "invalid_payload"
    assert reply["error"]["details"][0]["field"] == "(body)"
    assert await _user_count(db) == before


async def test_oversized_body_is_payload_too_large(api, db):
    before = await _user_count(db)
    padding = "x" * (70 * 1024)
    status, reply = await api.post(
        REGISTER, {"email": unique_email(), "password": padding, "display_name": "X"}
    )
    assert status == 413
    assert reply["error"]["code"] == "payload_too_large"
    assert await _user_count(db) == before


async def test_forged_refresh_token_is_unauthorized(api):
    status, reply = await api.post("/api/v1/auth/refresh", {"refresh_token": "forged" * 8})
    assert status == 401
    assert reply["error"]["code"] == "unauthorized"
