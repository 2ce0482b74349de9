#!/usr/bin/env python3
"""Bulk export benchmark: stream a large project as JSON and CSV and watch the server's memory.

Starts one ``boardroom serve`` on a fresh database, fills one project with ``--tasks`` tasks
(inserted with SQL, each with an assignee), then downloads the export in each format while
sampling the server process's resident memory every 20 ms. Flat memory means the peak during
the export stays near the resident size before it, whatever the task count.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python loadtests/bench_export.py --tasks 100000 10000 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_db import fresh_database  # noqa: E402
from realtime.embedded import free_port  # noqa: E402

SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"

_FILL = """
INSERT INTO tasks (id, project_id, column_id, title, description, position, created_by)
SELECT gen_random_uuid(), $1, $2, 'Task ' || i, repeat('Some description text. ', 4),
       'a' || lpad(i::text, 7, '0'), $3
FROM generate_series(1, $4) AS i
"""
_ASSIGN = """
INSERT INTO task_assignees (task_id, user_id) SELECT id, $2 FROM tasks WHERE project_id = $1
"""


async def run(counts: list[int]) -> list[dict[str, Any]]:
    async with fresh_database(os.environ["DATABASE_URL"]) as database_url:
        return await _run(database_url, counts)


async def _run(database_url: str, counts: list[int]) -> list[dict[str, Any]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="bench-export-", suffix=".log")[1])
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BOARDROOM_JWT_SECRET": SECRET,
        "BOARDROOM_ALLOWED_ORIGINS": url,
    }
    server = await asyncio.to_thread(_start_server, env, port, log)
    results = []
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.get(f"{url}/readyz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            body = {
                "email": f"bench-{uuid.uuid4().hex[:6]}@bench.example.com",
                "password": "bench password 1",
                "display_name": "Bench",
            }
            async with http.post(f"{url}/api/v1/auth/register", json=body) as resp:
                account = await resp.json()
            token = account["access_token"]
            sio = socketio.AsyncClient(reconnection=False)
            await sio.connect(url, auth={"token": token}, transports=["websocket"])

            async def ok(event: str, payload: dict[str, Any]) -> dict[str, Any]:
                reply = await sio.call(event, payload, timeout=30)
                assert reply["ok"], reply
                return dict(reply["data"])

            ws = await ok("workspace:create", {"op_id": uuid.uuid4().hex, "name": "bench"})
            conn = await asyncpg.connect(database_url)
            process = psutil.Process(server.pid)
            for count in counts:
                project = await ok(
                    "project:create",
                    {"op_id": uuid.uuid4().hex, "workspace_id": ws["id"], "name": "big"},
                )
                column = await ok(
                    "column:create",
                    {"op_id": uuid.uuid4().hex, "project_id": project["id"], "name": "c"},
                )
                user_id = uuid.UUID(account["user"]["id"])
                await conn.execute(
                    _FILL, uuid.UUID(project["id"]), uuid.UUID(column["id"]), user_id, count
                )
                await conn.execute(_ASSIGN, uuid.UUID(project["id"]), user_id)
                for fmt in ("json", "csv"):
                    results.append(
                        await _export(http, url, token, project["id"], fmt, count, process)
                    )
            await conn.close()
            await sio.disconnect()
    finally:
        await asyncio.to_thread(_stop_server, server, log)
    return results


def _start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "realtime.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _stop_server(server: subprocess.Popen[bytes], log: Path) -> None:
    server.terminate()
    server.wait(15)
    log.unlink(missing_ok=True)


async def _export(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    project_id: str,
    fmt: str,
    count: int,
    process: psutil.Process,
) -> dict[str, Any]:
    before = process.memory_info().rss
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    size = 0
    async with http.get(
        f"{url}/api/v1/projects/{project_id}/export",
        params={"format": fmt},
        headers={"Authorization": f"Bearer {token}"},
    ) as resp:
        assert resp.status == 200, await resp.text()
        async for chunk in resp.content.iter_chunked(1 << 16):
            size += len(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    await sampler
    return {
        "tasks": count,
        "format": fmt,
        "seconds": round(elapsed, 2),
        "megabytes": round(size / 1e6, 1),
        "rss_before_mib": round(before / 2**20, 1),
        "rss_peak_mib": round(peak / 2**20, 1),
        "rss_growth_mib": round((peak - before) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, nargs="+", default=[100_000])
    parser.add_argument("--json", action="store_true", help="one JSON line per export")
    args = parser.parse_args()
    for result in asyncio.run(run(args.tasks)):
        print(json.dumps(result) if args.json else result)


if __name__ == "__main__":
    main()
