"""Smoke test of a deployed Boardroom, run by the delivery pipeline after each deploy:
``python deploy/smoke.py https://boards.example.com``.

Read-only: it creates no account and changes nothing. It checks that the load balancer reaches
ready servers, that the browser board and the API contract are served, and that a Socket.IO
WebSocket reaches a server through the load balancer (a connect without a token must be
refused with the documented ``unauthorized`` error). Exit status 0 when all hold.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

import aiohttp
import socketio

READY_WITHIN_SECONDS = float(os.environ.get("SMOKE_READY_SECONDS", "300"))


async def _wait_ready(http: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            async with http.get(f"{url}/readyz") as response:
                if response.status == 200:
                    return
                last = f"{response.status} {await response.text()}"
        except aiohttp.ClientError as exc:
            last = repr(exc)
        await asyncio.sleep(min(5, READY_WITHIN_SECONDS / 10))
    raise SystemExit(f"smoke: {url}/readyz not ready within {READY_WITHIN_SECONDS} s: {last}")


async def _expect(http: aiohttp.ClientSession, url: str, needle: str) -> None:
    async with http.get(url) as response:
        body = await response.text()
        if response.status != 200 or needle not in body:
            raise SystemExit(f"smoke: {url} answered {response.status} without {needle!r}")


async def _socket_refused_without_token(url: str) -> None:
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    client.on("connect_error", errors.append)
    try:
        await client.connect(url, transports=["websocket"], wait_timeout=15)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        await client.disconnect()
        raise SystemExit("smoke: a Socket.IO connection without a token was accepted")
    data = errors[0] if errors else None
    code = data.get("data", {}).get("code") if isinstance(data, dict) else None
    if code != "unauthorized":
        raise SystemExit(f"smoke: expected an 'unauthorized' connect_error, got {data!r}")


async def main(url: str) -> None:
    url = url.rstrip("/")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await _wait_ready(http, url)
        await _expect(http, f"{url}/healthz", "")
        await _expect(http, f"{url}/", "<html")
        await _expect(http, f"{url}/api/v1/openapi.json", '"openapi"')
    await _socket_refused_without_token(url)
    print(f"smoke: {url} is ready, serves the board and the API, and guards its sockets")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python deploy/smoke.py <public URL>")
    asyncio.run(main(sys.argv[1]))
