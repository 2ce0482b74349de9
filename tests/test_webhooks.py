"""Managing outgoing webhooks over Socket.IO: who may, which URLs, what is shown (delivery is
tested against the real worker in tests/test_pipeline.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from application.ports import WebhookRefused
from domain import webhooks as rules
from persistence import webhooks
from persistence.db import connect as connect_database
from streams.http_sender import HttpWebhookSender, PublicOnlyResolver
from tests.support import free_port, make_board, op


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
        ("https://0.0.0.0/x", "internal address"),
        ("https://100.64.0.1/x", "internal address"),  # carrier-grade NAT
        ("https://100.100.100.200/latest/meta-data", "internal address"),  # a cloud's metadata
        ("https://198.18.0.1/x", "internal address"),  # benchmarking
        ("https://[::ffff:127.0.0.1]/x", "internal address"),  # IPv4-mapped loopback
        ("https://[64:ff9b::a9fe:a9fe]/x", "internal address"),  # NAT64 of the metadata address
        ("https://[2002:7f00:1::1]/x", "internal address"),  # 6to4
        ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x", "internal address"),  # Teredo
        ("https://[fd00::1]/x", "internal address"),  # unique local
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


@pytest.mark.parametrize(
    "address",
    ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "64:ff9b::808:808"],
)
def test_public_addresses_are_not_internal(address):
    assert not rules.is_internal_address(address)


async def test_a_host_name_that_resolves_inside_is_refused_by_the_connection_s_own_resolver():
    """The addresses checked are the ones aiohttp connects to: no second lookup."""
    with pytest.raises(WebhookRefused, match="internal address"):
        await PublicOnlyResolver().resolve("localhost", 443)


async def test_network_failures_read_the_same_in_the_delivery_log():
    """Refused, reset, or a failed TLS handshake: "could not connect", whatever the cause, so
    the delivery log cannot be used to scan ports."""
    sender = HttpWebhookSender(allow_private=True, timeout_seconds=5)

    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    not_tls = await asyncio.start_server(plain_http, "127.0.0.1", 0)
    tls_port = not_tls.sockets[0].getsockname()[1]
    try:
        messages = []
        for url in (f"https://127.0.0.1:{free_port()}/hook", f"https://127.0.0.1:{tls_port}/hook"):
            with pytest.raises(ConnectionError) as raised:
                await sender.post(url, {}, b"{}")
            messages.append(str(raised.value))
        assert messages == ["could not connect", "could not connect"]
    finally:
        not_tls.close()
        await sender.close()


async def test_one_endpoint_s_backlog_does_not_hold_back_another_project_s_deliveries(
    manager, services
):
    """Thirty deliveries due to one webhook, then one to another project's: a lease of ten
    takes at most five of the first and the other one too."""
    client, board = manager
    other = await make_board(client)
    db = await connect_database(services.database_url)  # with the app's JSON codecs
    hooks = {}
    for name, project in (("busy", board), ("quiet", other)):
        created = await client.ok(
            "webhook:create",
            {
                "op_id": op(),
                "project_id": project.project_id,
                "url": f"https://{name}.example.com/h",
            },
        )
        hooks[name] = created["data"]["id"]
    now = datetime.now(UTC)
    for _ in range(30):
        await webhooks.enqueue(
            db, uuid.UUID(board.project_id), uuid.uuid4(), "task.created", {}, now
        )
    await webhooks.enqueue(db, uuid.UUID(other.project_id), uuid.uuid4(), "task.created", {}, now)
    leased = await webhooks.lease_due(db, 10, timedelta(minutes=1), per_webhook=5)
    by_hook = Counter(str(d.webhook_id) for d in leased)
    assert by_hook == {hooks["busy"]: 5, hooks["quiet"]: 1}
    # The next lease goes on with the backlog, five at a time, the leased ones excluded.
    again = await webhooks.lease_due(db, 10, timedelta(minutes=1), per_webhook=5)
    assert Counter(str(d.webhook_id) for d in again) == {hooks["busy"]: 5}
    assert not {d.id for d in leased} & {d.id for d in again}
    await db.close()
