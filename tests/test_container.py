"""The container image, built from the Dockerfile and run against the real services: migrate,
two servers and a worker, each a container on the host network (ADR 0031).

Needs a Docker engine and the base image (``scripts/container-engine`` prepares both; CI runs
it). Without an engine the tests are skipped with the reason, except where
``BOARDROOM_REQUIRE_CONTAINERS`` is set (CI), where they fail with it.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest

from tests.conftest import Services, fresh_database
from tests.pipeline_support import eventually
from tests.support import (
    JWT_SECRET,
    NEVER_LAGGING_MS,
    ROOT,
    Api,
    connect,
    create_task,
    free_port,
    make_board,
)

pytestmark = pytest.mark.container

DOCKER = os.environ.get("BOARDROOM_DOCKER", "/usr/bin/docker")
BASE_IMAGE = os.environ.get("BOARDROOM_BASE_IMAGE", "boardroom-base:bookworm")
IMAGE = "boardroom:test"
UID = 10001


def _docker(*args: str, timeout: float = 120, check: bool = True) -> str:
    done = subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def _engine_problem() -> str | None:
    if not Path(DOCKER).is_file():
        return f"no Docker client at {DOCKER} (run scripts/container-engine)"
    info = subprocess.run([DOCKER, "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return f"the Docker engine does not answer (run scripts/container-engine): {info.stderr}"
    if subprocess.run([DOCKER, "image", "inspect", BASE_IMAGE], capture_output=True).returncode:
        return f"no base image {BASE_IMAGE} (run scripts/container-engine)"
    return None


def _ca_bundle() -> str | None:
    """The CA bundle pip on this machine uses, passed to the build as a secret."""
    for candidate in (
        os.environ.get("PIP_CERT"),
        os.environ.get("SSL_CERT_FILE"),
        "/etc/ssl/certs/ca-certificates.crt",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def image(record_measurement) -> str:
    problem = _engine_problem()
    if problem:
        if os.environ.get("BOARDROOM_REQUIRE_CONTAINERS"):
            pytest.fail(problem)
        pytest.skip(problem)
    secret = _ca_bundle()
    started = time.monotonic()
    done = subprocess.run(
        [DOCKER, "build", "--network", "host", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}"]
        + (["--secret", f"id=ca,src={secret}"] if secret else [])
        + ["--tag", IMAGE, str(ROOT)],
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    size = int(_docker("image", "inspect", "--format", "{{.Size}}", IMAGE))
    record_measurement(
        f"container image {IMAGE}: built in {time.monotonic() - started:.0f} s "
        f"(layers cached where unchanged), {size / 1e6:.0f} MB on {BASE_IMAGE}"
    )
    return IMAGE


@dataclass
class Container:
    name: str
    role: str
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Stack:
    database_url: str
    servers: list[Container]
    worker: Container


SOCKET_DIR_INSIDE = "/run/boardroom-postgres"


def _database_for_containers(database_url: str) -> tuple[str, list[str]]:
    """The DSN as a container sees it, and the ``docker run`` options that make it reachable.
    A server on TCP is reached as it is (host network); one on a Unix socket (the embedded
    server of a run with no services configured) through its socket file, mounted in."""
    parts = urlsplit(database_url)
    query = dict(parse_qsl(parts.query))
    socket_dir = query.get("host", "")
    if not socket_dir.startswith("/"):
        return database_url, []
    socket_file = f".s.PGSQL.{query.get('port') or parts.port or 5432}"
    inside = urlunsplit(parts._replace(query=urlencode(query | {"host": SOCKET_DIR_INSIDE})))
    return inside, [f"--volume={socket_dir}/{socket_file}:{SOCKET_DIR_INSIDE}/{socket_file}"]


def _run(image: str, name: str, env: dict[str, str], *command: str, health: str = "") -> None:
    env = dict(env)
    env["DATABASE_URL"], options = _database_for_containers(env["DATABASE_URL"])
    options += [f"--env={k}={v}" for k, v in env.items()]
    if health:
        options += [f"--health-cmd={health}", "--health-interval=1s", "--health-retries=30"]
    _docker("run", "--detach", "--name", name, "--network", "host", *options, image, *command)


def _ready(url: str, container: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if _docker("inspect", "--format", "{{.State.Running}}", container) != "true":
            break
        time.sleep(0.2)
    logs = _docker("logs", container, check=False)
    raise AssertionError(f"{container} did not become ready: {logs[-3000:]}")


@pytest.fixture(scope="module")
def stack(image: str, services: Services, kafka_url: str) -> Iterator[Stack]:
    suffix = uuid.uuid4().hex[:8]
    names: list[str] = []
    with fresh_database(services) as database_url:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": services.redis_url,
            "KAFKA_URL": kafka_url,
            "BOARDROOM_JWT_SECRET": JWT_SECRET,
            "BOARDROOM_REDIS_CHANNEL": f"boardroom-container-{suffix}",
            "BOARDROOM_KAFKA_TOPIC_PREFIX": f"container-{suffix}",
            "BOARDROOM_KAFKA_PARTITIONS": "2",
            "BOARDROOM_MAX_LOOP_LAG_MS": str(NEVER_LAGGING_MS),
        }
        try:
            migrate = f"boardroom-migrate-{suffix}"
            names.append(migrate)
            _run(image, migrate, env, "migrate")
            status = _docker("wait", migrate, timeout=120)
            assert status == "0", _docker("logs", migrate, check=False)

            servers = [
                Container(f"boardroom-serve{i}-{suffix}", "serve", free_port()) for i in (1, 2)
            ]
            for server in servers:
                names.append(server.name)
                server_env = {**env, "BOARDROOM_PORT": str(server.port)}
                _run(image, server.name, server_env, "serve", health="boardroom healthcheck")
            worker = Container(f"boardroom-worker-{suffix}", "worker", free_port())
            names.append(worker.name)
            worker_env = {**env, "BOARDROOM_WORKER_METRICS_PORT": str(worker.port)}
            _run(image, worker.name, worker_env, "worker", health="boardroom healthcheck --worker")
            for server in servers:
                _ready(server.url, server.name)
            yield Stack(database_url, servers, worker)
        finally:
            for name in names:
                _docker("rm", "--force", "--volumes", name, check=False)


def _main_process_uid(container: str) -> int:
    pid = _docker("inspect", "--format", "{{.State.Pid}}", container)
    status = Path(f"/proc/{pid}/status").read_text()
    [uid_line] = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(uid_line.split()[1])


def test_the_dockerfile_passes_hadolint():
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "hadolint"), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


async def test_two_servers_and_a_worker_from_the_image_serve_one_board(stack: Stack):
    first, second = stack.servers
    async with aiohttp.ClientSession() as http:
        # The installed package carries the browser board.
        async with http.get(first.url + "/") as response:
            assert response.status == 200 and "<html" in (await response.text()).lower()
        api = Api(first.url, http)
        account = await api.register("container")
        status, body = await api.post(
            "/api/v1/auth/login", {"email": account.email, "password": account.password}
        )
        assert status == 200 and body["access_token"], body

        watcher = await connect(first.url, body["access_token"])
        editor = await connect(second.url, body["access_token"])
        try:
            board = await make_board(watcher)
            await watcher.ok("project:join", {"project_id": board.project_id})
            await editor.ok("project:join", {"project_id": board.project_id})
            created = await create_task(editor, board, "made in container 2")
            seen = await watcher.wait_for_event(lambda e: e["seq"] == created["seq"], timeout=15)
            assert seen["data"]["task"]["title"] == "made in container 2"
        finally:
            await watcher.sio.disconnect()
            await editor.sio.disconnect()

    # The relay in a server container published it; the worker container audited it.
    db = await asyncpg.connect(stack.database_url)
    try:
        audited = await eventually(
            lambda: db.fetchval("SELECT count(*) FROM audit_log WHERE type = 'task.created'"),
            lambda n: n == 1,
            what="the task.created audit row",
            timeout=60,
        )
        assert audited == 1
    finally:
        await db.close()


def test_every_container_runs_as_an_unprivileged_user_and_is_healthy(stack: Stack):
    for container in (*stack.servers, stack.worker):
        assert _docker("inspect", "--format", "{{.Config.User}}", container.name) == f"{UID}:{UID}"
        assert _main_process_uid(container.name) == UID, container
        deadline = time.monotonic() + 60
        while (
            health := _docker("inspect", "--format", "{{.State.Health.Status}}", container.name)
        ) == "starting" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert health == "healthy", (container, _docker("logs", container.name, check=False))


def test_each_role_stops_within_10_s_of_sigterm(stack: Stack):
    for container in (stack.worker, *stack.servers):
        started = time.monotonic()
        # docker stop sends SIGTERM, then SIGKILL after --time seconds.
        _docker("stop", "--time", "30", container.name, timeout=60)
        elapsed = time.monotonic() - started
        exit_code = _docker("inspect", "--format", "{{.State.ExitCode}}", container.name)
        assert elapsed < 10, f"{container.role} took {elapsed:.1f} s to stop"
        assert exit_code != "137", f"{container.role} was killed, not stopped"
