"""Browser hardening: every response (the board, its files, the API, downloads) tells the
browser to run only the board's own files, never to be framed, never to sniff types and to send
no Referer; the board works under that policy (tests/test_browser.py runs it)."""

from __future__ import annotations

import pytest

from handlers.security_headers import content_security_policy


@pytest.mark.parametrize(
    "path", ["/", "/static/app.js", "/healthz", "/api/v1/openapi.json", "/api/v1/nothing-here"]
)
async def test_every_response_carries_the_hardening_headers(api, base_url, path):
    async with api.http.get(base_url + path) as response:
        headers = response.headers
    policy = headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in headers  # plain http in the test


async def test_a_download_carries_them_too(api, base_url):
    account = await api.register("exporter")
    headers = {"Authorization": f"Bearer {account.access_token}"}
    # Even a refused download: the headers come with every answer.
    async with api.http.get(
        f"{base_url}/api/v1/workspaces/00000000-0000-0000-0000-000000000000/audit/export",
        headers=headers,
    ) as response:
        assert response.status == 404
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_socket_origin_follows_the_public_url():
    assert "connect-src 'self' wss://boards.example.com" in content_security_policy(
        "https://boards.example.com"
    )
    assert "connect-src 'self' ws://127.0.0.1:8080" in content_security_policy(
        "http://127.0.0.1:8080"
    )
