"""Metrics (issue 6, item 3 in part): RED per Socket.IO event and REST route, business counters
and the gauges, scraped from a real server's /metrics in Prometheus text format."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support import connect, make_board, op


async def _scrape(api, base_url) -> dict[tuple[str, frozenset], float]:
    async with api.http.get(f"{base_url}/metrics") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


async def test_red_business_and_gauge_metrics_are_exposed(api, base_url):
    account = await api.register("metric")
    await api.post("/api/v1/auth/login", {"email": account.email, "password": "wrong password"})
    client = await connect(base_url, account.access_token)
    try:
        board = await make_board(client)
        await client.ok(
            "task:create",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "column_id": board.column_id,
                "title": "counted",
            },
        )
        await client.ok("project:join", {"project_id": board.project_id})
        bad = await client.call("task:create", {"op_id": op(), "project_id": "nope"})
        assert bad["error"]["code"] == "invalid_payload"
        samples = await _scrape(api, base_url)
    finally:
        await client.sio.disconnect()

    events = "boardroom_socketio_events_total"
    assert _value(samples, events, event="task:create", outcome="ok") == 1
    assert _value(samples, events, event="task:create", outcome="invalid_payload") == 1
    assert _value(samples, events, event="workspace:create", outcome="ok") == 1
    duration = "boardroom_socketio_event_duration_seconds_count"
    assert _value(samples, duration, event="task:create") == 2
    requests = "boardroom_http_requests_total"
    assert _value(samples, requests, route="/api/v1/auth/register", status="201") == 1
    assert _value(samples, requests, route="/api/v1/auth/login", status="401") == 1
    business = "boardroom_business_events_total"
    for kind in ("registration", "login_failure", "task_created"):
        assert _value(samples, business, kind=kind) == 1, kind
    assert _value(samples, "boardroom_connected_sockets") == 1
    assert _value(samples, "boardroom_project_rooms") == 1  # the board the client joined
    assert _value(samples, "boardroom_db_pool_size") >= 1
    assert ("boardroom_event_loop_lag_seconds", frozenset()) in {
        (n, frozenset()) for (n, _) in samples
    }


async def test_metrics_are_for_the_scraper_only(aiohttp_server, settings, api):
    """On the public port: a production server without a token refuses them, one with a
    token serves them to a scraper that sends it and to nobody else."""
    from realtime.app import create_app
    from realtime.settings import Mode

    production = settings.model_copy(update={"mode": Mode.PRODUCTION})
    closed = await aiohttp_server(await create_app(production))
    async with api.http.get(str(closed.make_url("/metrics"))) as resp:
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"

    token = "scrape-token-0123456789abcdef"
    guarded = await aiohttp_server(
        await create_app(production.model_copy(update={"metrics_token": token}))
    )
    url = str(guarded.make_url("/metrics"))
    for offered in (None, "Bearer wrong-token", f"Basic {token}"):
        headers = {"Authorization": offered} if offered else {}
        async with api.http.get(url, headers=headers) as resp:
            assert resp.status == 401, offered
    async with api.http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200 and "boardroom_" in await resp.text()
