"""Test support: real clients (HTTP and Socket.IO) and server processes, no mocks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import socketio

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")
JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
# Servers under test never shed connections for event-loop lag: a busy machine lags for
# seconds at times, and the clients of in-process servers share their loop. Only
# tests/test_rate_limits.py tests the shedding, with a threshold of its own.
NEVER_LAGGING_MS = 3_600_000
# Server processes under test take events as fast as tests send them; tests/test_rate_limits.py
# sets real limits.
UNLIMITED_RATES = {
    "BOARDROOM_RATE_LIMIT_PER_SECOND": "100000",
    "BOARDROOM_RATE_LIMIT_BURST": "100000",
    "BOARDROOM_RATE_LIMIT_ACCOUNT_PER_SECOND": "100000",
    "BOARDROOM_RATE_LIMIT_ACCOUNT_BURST": "100000",
}


def op() -> str:
    return f"op-{uuid.uuid4().hex}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    user_id: str
    email: str
    password: str
    access_token: str
    refresh_token: str


class Api:
    """The REST surface over a real socket."""

    def __init__(self, base_url: str, http: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http

    async def post(self, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with self.http.post(self.base_url + path, **kwargs) as resp:
            text = await resp.text()
            return resp.status, (await resp.json(content_type=None)) if text else None

    async def get(
        self, path: str, token: str | None = None, params: dict[str, str] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(self.base_url + path, headers=headers, params=params) as resp:
            return resp.status, await resp.read(), dict(resp.headers)

    async def register(
        self, prefix: str = "user", password: str = "correct horse battery"
    ) -> Account:
        email = unique_email(prefix)
        status, body = await self.post(
            "/api/v1/auth/register",
            {"email": email, "password": password, "display_name": prefix.title()},
        )
        assert status == 201, body
        return Account(
            body["user"]["id"], email, password, body["access_token"], body["refresh_token"]
        )


@dataclass
class Client:
    """A real python-socketio client that records every project event it receives."""

    sio: socketio.AsyncClient
    events: list[dict[str, Any]] = field(default_factory=list)
    # (event name, payload) of what the server tells this user: access:revoked, access:changed
    notices: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def call(self, event: str, payload: Any = None, timeout: float = 10) -> dict[str, Any]:
        args = () if payload is None else (payload,)
        reply: dict[str, Any] = await self.sio.call(event, *args, timeout=timeout)
        return reply

    async def ok(self, event: str, payload: Any = None) -> dict[str, Any]:
        reply = await self.call(event, payload)
        assert reply["ok"] is True, reply
        return reply

    async def wait_for_notice(
        self,
        name: str,
        predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
        timeout: float = 5,
    ) -> dict[str, Any]:
        found = await _first(lambda: [d for g, d in self.notices if g == name], predicate, timeout)
        if found is None:
            raise AssertionError(f"no {name} within {timeout}s; received {self.notices}")
        return found

    async def wait_for_event(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5
    ) -> dict[str, Any]:
        found = await _first(lambda: self.events, predicate, timeout)
        if found is None:
            raise AssertionError(f"no matching event within {timeout}s; received {self.events}")
        return found


async def _first(
    items: Callable[[], list[dict[str, Any]]],
    predicate: Callable[[dict[str, Any]], bool],
    timeout: float,
) -> dict[str, Any] | None:
    """The first of ``items()`` matching ``predicate``, polled until ``timeout``; else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for item in items():
            if predicate(item):
                return item
        await asyncio.sleep(0.01)
    return None


async def connect(base_url: str, token: str | None, **kwargs: Any) -> Client:
    sio = socketio.AsyncClient(reconnection=False)
    client = Client(sio)

    @sio.on("event")
    async def on_event(data: dict[str, Any]) -> None:
        client.events.append(data)

    for notice in ("access:revoked", "access:changed", "notification", "presence"):

        async def on_notice(data: dict[str, Any], name: str = notice) -> None:
            client.notices.append((name, data))

        sio.on(notice, on_notice)

    auth = {"token": token} if token is not None else None
    await sio.connect(base_url, auth=auth, transports=["websocket"], wait_timeout=5, **kwargs)
    return client


@dataclass
class Board:
    """A workspace with one project and one column, made through the real socket events."""

    workspace_id: str
    project_id: str
    column_id: str


async def create_task(client: Client, board: Board, title: str) -> dict[str, Any]:
    """``task:create`` in the board's column; the ack (``data`` is the task, ``seq`` its
    event's)."""
    return await client.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": title,
        },
    )


async def rename_task(
    client: Client, board: Board, created: dict[str, Any], title: str
) -> dict[str, Any]:
    """``task:update`` of the title of the task ``created`` acknowledged, based on its version."""
    return await client.ok(
        "task:update",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "task_id": created["data"]["id"],
            "base_version": created["data"]["version"],
            "title": title,
        },
    )


async def make_board(client: Client) -> Board:
    ws = await client.ok("workspace:create", {"op_id": op(), "name": "Team"})
    project = await client.ok(
        "project:create", {"op_id": op(), "workspace_id": ws["data"]["id"], "name": "Launch"}
    )
    project_id = project["data"]["id"]
    column = await client.ok(
        "column:create", {"op_id": op(), "project_id": project_id, "name": "To do"}
    )
    return Board(ws["data"]["id"], project_id, column["data"]["id"])


def free_port() -> int:
    from realtime.embedded import free_port as _free_port

    return _free_port()


class ServerProcess:
    """``boardroom serve`` in its own process, as in production."""

    def __init__(self, port: int, env: dict[str, str], tree: Path = ROOT) -> None:
        """``tree``: the source tree to run (another release's, in the upgrade test)."""
        self.port = port
        self.env = env
        self.tree = tree
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "realtime.cli", "serve", "--port", str(port)],
            env={
                **os.environ,
                "BOARDROOM_MAX_LOOP_LAG_MS": str(NEVER_LAGGING_MS),
                # Every test client signs in from 127.0.0.1; tests/test_address_limits.py
                # checks the limit itself.
                "BOARDROOM_AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "100000",
                **env,
            },
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become ready")

    def restart(self) -> None:
        """Start it again, on the same port, after ``stop()``."""
        self.__init__(self.port, self.env, self.tree)  # type: ignore[misc]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Loop:
    """An asyncio loop in a thread, for running client coroutines from sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
