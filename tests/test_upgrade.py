"""Zero-downtime upgrades: during a rolling deploy the previous release's servers run against the
schema the new release migrated to, side by side with the new servers (docs/deployment.md,
"Upgrades"). Migrations therefore only expand; what the previous code needs is removed in a
later release.

"The previous release" here is the code as it was just before the newest migration was added:
that is the code that meets the newest schema in a deploy. It is taken from the repository's
history (``git archive``) and run from its own directory with this suite's locked dependencies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.conftest import Services, fresh_database
from tests.support import (
    JWT_SECRET,
    NEVER_LAGGING_MS,
    ROOT,
    Api,
    ServerProcess,
    connect,
    create_task,
    free_port,
    make_board,
    rename_task,
)


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"git {' '.join(args)} failed (this test needs the history): {done.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tree of the commit before the one that added the newest migration."""
    newest = _git("log", "-1", "--format=%H", "--", "persistence/migrations")
    archive = subprocess.run(
        ["git", "archive", f"{newest}^"], cwd=ROOT, capture_output=True, timeout=60, check=True
    ).stdout
    target = tmp_path_factory.mktemp("previous-release")
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    newest_file = sorted((ROOT / "persistence" / "migrations").glob("*.sql"))[-1].name
    assert not (target / "persistence" / "migrations" / newest_file).exists()
    return target


def _runs_from(tree: Path, env: dict[str, str]) -> None:
    """The interpreter started in ``tree`` imports that tree's code, not this checkout's."""
    where = subprocess.run(
        [sys.executable, "-c", "import realtime; print(realtime.__file__)"],
        cwd=tree,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(where.strip()).is_relative_to(tree), where


@pytest.fixture
def mixed_fleet(services: Services, previous_release: Path) -> Iterator[tuple[str, str, str]]:
    """(database URL, previous release's URL, this release's URL): one database migrated by
    this release, one Redis channel, as in the middle of a rolling deploy."""
    with fresh_database(services) as database_url:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": services.redis_url,
            "BOARDROOM_REDIS_CHANNEL": f"boardroom-upgrade-{free_port()}",
            "BOARDROOM_JWT_SECRET": JWT_SECRET,
            "BOARDROOM_MAX_LOOP_LAG_MS": str(NEVER_LAGGING_MS),
        }
        previous_env = env | {"PYTHONPATH": str(previous_release)}
        _runs_from(previous_release, previous_env)
        old = ServerProcess(free_port(), previous_env, tree=previous_release)
        try:
            new = ServerProcess(free_port(), env)
            try:
                yield database_url, old.url, new.url
            finally:
                new.stop()
        finally:
            old.stop()


async def test_the_previous_release_serves_beside_this_one_on_the_new_schema(mixed_fleet):
    database_url, old_url, new_url = mixed_fleet
    async with aiohttp.ClientSession() as http:
        account = await Api(old_url, http).register("upgrader")
    on_old = await connect(old_url, account.access_token)
    on_new = await connect(new_url, account.access_token)
    try:
        board = await make_board(on_old)
        await on_old.ok("project:join", {"project_id": board.project_id})
        await on_new.ok("project:join", {"project_id": board.project_id})
        created = await create_task(on_new, board, "written by the new release")
        seen = await on_old.wait_for_event(lambda e: e["seq"] == created["seq"], timeout=10)
        assert seen["data"]["task"]["title"] == "written by the new release"
        updated = await rename_task(on_old, board, created, "edited by the previous release")
        back = await on_new.wait_for_event(lambda e: e["seq"] == updated["seq"], timeout=10)
        assert back["type"] == "task.updated"
    finally:
        await on_old.sio.disconnect()
        await on_new.sio.disconnect()
    db = await asyncpg.connect(database_url)
    try:
        title = await db.fetchval(
            "SELECT title FROM tasks WHERE id = $1::uuid", created["data"]["id"]
        )
        assert title == "edited by the previous release"
        # Both releases wrote their events to the one outbox, in one gapless sequence.
        seqs = await db.fetch(
            "SELECT seq FROM project_events WHERE project_id = $1::uuid ORDER BY seq",
            board.project_id,
        )
        assert [r["seq"] for r in seqs] == list(range(1, len(seqs) + 1))
    finally:
        await db.close()
