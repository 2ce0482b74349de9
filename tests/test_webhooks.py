"""Managing outgoing webhooks over Socket.IO: who may, which URLs, what is shown (delivery is
tested against the real worker in tests/test_pipeline.py)."""

from __future__ import annotations

import pytest

from domain import webhooks as rules
from tests.support import make_board, op


@pytest.fixture
async def manager(api, client_factory):
    account = await api.register("manager")
    client = await client_factory(account.access_token)
    return client, await make_board(client)


async def test_a_manager_adds_lists_and_removes_a_webhook_and_sees_the_secret_once(manager, db):
    client, board = manager
    created = await client.ok(
        "webhook:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "url": "https://hooks.example.com/x",
            "event_types": ["task.created"],
        },
    )
    hook = created["data"]
    assert len(hook["secret"]) >= 40 and hook["event_types"] == ["task.created"]
    listed = (await client.ok("webhook:list", {"project_id": board.project_id}))["data"]
    assert [h["id"] for h in listed["webhooks"]] == [hook["id"]]
    assert "secret" not in listed["webhooks"][0]
    ids = {"project_id": board.project_id, "webhook_id": hook["id"]}
    assert (await client.ok("webhook:deliveries", ids))["data"] == {"deliveries": []}
    await client.ok("webhook:delete", ids | {"op_id": op()})
    assert (await client.ok("webhook:list", {"project_id": board.project_id}))["data"] == {
        "webhooks": []
    }
    again = await client.call("webhook:delete", ids | {"op_id": op()})
    assert again["error"]["code"] == "not_found" and again["error"]["details"]["field"] == (
        "webhook_id"
    )
    # Both changes are security events on their way to the audit trail.
    types = [
        r["type"]
        for r in await db.fetch(
            "SELECT payload->>'type' AS type FROM outbox WHERE payload->>'project_id' = $1 "
            "AND payload->>'kind' = 'security' ORDER BY id",
            board.project_id,
        )
    ]
    assert types == ["webhook.created", "webhook.deleted"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "must be https"),
        ("https://127.0.0.1/x", "internal address"),
        ("https://localhost:8443/x", "internal address"),
        ("https://169.254.169.254/latest/meta-data", "internal address"),
        ("https://10.0.0.7/x", "internal address"),
        ("https://[::1]/x", "internal address"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("ftp://hooks.example.com/x", "http(s) URL"),
    ],
)
async def test_webhook_urls_that_could_reach_inside_are_refused(manager, db, url, reason):
    client, board = manager
    reply = await client.call(
        "webhook:create", {"op_id": op(), "project_id": board.project_id, "url": url}
    )
    error = reply["error"]
    assert error["code"] == "invalid_payload" and reason in error["message"]
    assert [d["field"] for d in error["details"]] == ["url"]
    assert await db.fetchval("SELECT count(*) FROM webhooks WHERE url = $1", url) == 0


async def test_unknown_event_types_and_too_many_webhooks_are_refused(manager, db):
    client, board = manager
    reply = await client.call(
        "webhook:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "url": "https://h.example",
            "event_types": ["task.created", "task.exploded"],
        },
    )
    assert reply["error"]["code"] == "invalid_payload"
    assert "task.exploded" in reply["error"]["details"][0]["message"]
    for _ in range(10):
        await client.ok(
            "webhook:create",
            {"op_id": op(), "project_id": board.project_id, "url": "https://h.example"},
        )
    eleventh = await client.call(
        "webhook:create",
        {"op_id": op(), "project_id": board.project_id, "url": "https://h.example"},
    )
    assert eleventh["error"]["code"] == "invalid_payload"
    assert (
        await db.fetchval(
            "SELECT count(*) FROM webhooks WHERE project_id = $1::uuid", board.project_id
        )
        == 10
    )


def test_signatures_cover_the_timestamp_and_the_exact_body():
    body = b'{"type":"task.created"}'
    signature = rules.sign("s3cret", 1700000000, body)
    assert signature.startswith("sha256=") and rules.verify("s3cret", 1700000000, body, signature)
    assert not rules.verify("s3cret", 1700000001, body, signature)
    assert not rules.verify("s3cret", 1700000000, body + b" ", signature)
    assert not rules.verify("other", 1700000000, body, signature)


def test_retries_back_off_exponentially_up_to_a_cap():
    assert [rules.retry_delay(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert rules.retry_delay(30, 2.0) == 3600.0
