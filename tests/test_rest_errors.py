"""Bad REST input: each case has its code, names the field, and changes nothing."""

from __future__ import annotations

import uuid

import orjson
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


async def test_a_body_nested_too_deep_is_invalid_payload(api, db):
    deep = b"[" * 900 + b"1" + b"]" * 900
    before = await _user_count(db)
    status, body = await api.post(REGISTER, raw=b'{"email": "a@example.com", "x": ' + deep + b"}")
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    assert body["error"]["details"][0]["field"] == "(body)"
    assert await _user_count(db) == before


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"before_seq": str(2**70)}, "before_seq"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "since"),
        ({"until": "0001-01-01T00:00:00+00:00"}, "until"),
    ],
)
async def test_numbers_and_dates_beyond_the_database_s_range_are_invalid_payload(
    api, params, field
):
    owner = await api.register("owner")
    path = f"/api/v1/workspaces/{uuid.uuid4()}/audit"
    status, raw, _ = await api.get(path, owner.access_token, params)
    error = orjson.loads(raw)["error"]
    assert status == 400 and error["code"] == "invalid_payload"
    assert [d["field"] for d in error["details"]] == [field]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("a@example.com", "aaaaaaaaaa"),  # repeated
        ("a@example.com", "1234567890"),  # sequence
        ("a@example.com", "password12"),  # common, from breaches
        ("a@example.com", "qwertyuiop"),  # keyboard walk
        ("a@example.com", "iloveyou123"),
        ("margaret.whitfield@example.com", "margaret.whitfield1"),  # the account's own address
    ],
)
async def test_a_guessable_password_is_refused_with_advice(api, db, email, password):
    """NIST SP 800-63B: no composition rules, but nothing common, breached or derived."""
    before = await _user_count(db)
    status, body = await api.post(
        REGISTER, {"email": email, "password": password, "display_name": "X"}
    )
    assert status == 400 and body["error"]["code"] == "invalid_payload"
    [detail] = body["error"]["details"]
    assert detail["field"] == "password" and "too easy to guess" in detail["message"]
    assert await _user_count(db) == before


async def test_a_guessable_new_password_is_refused_too(api):
    owner = await api.register("owner")
    async with api.http.post(
        f"{api.base_url}/api/v1/auth/password",
        json={"current_password": owner.password, "new_password": "password123"},
        headers={"Authorization": f"Bearer {owner.access_token}"},
    ) as response:
        body = await response.json()
    assert response.status == 400
    assert [d["field"] for d in body["error"]["details"]] == ["new_password"]
