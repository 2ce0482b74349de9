"""The delivery pipeline as code (.github/workflows/): actionlint finds nothing, and the gates
are where docs/deployment.md says they are."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import ROOT, free_port

WORKFLOWS = ROOT / ".github" / "workflows"


def test_actionlint_finds_nothing():
    actionlint = Path(sys.executable).parent / "actionlint"
    done = subprocess.run(
        [str(actionlint), "-no-color"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(list(WORKFLOWS.glob("*.yml"))) >= 2


def test_production_waits_for_staging_which_waits_for_dev_which_waits_for_every_check():
    jobs = yaml.safe_load((WORKFLOWS / "delivery.yml").read_text())["jobs"]
    assert set(jobs["image"]["needs"]) == {"checks", "security"}
    assert jobs["deploy-dev"]["needs"] == "image"
    assert "deploy-dev" in jobs["deploy-staging"]["needs"]
    assert "deploy-staging" in jobs["deploy-production"]["needs"]
    environments = [jobs[j]["with"]["environment"] for j in ("deploy-dev", "deploy-staging")]
    assert [*environments, jobs["deploy-production"]["with"]["environment"]] == [
        "dev",
        "staging",
        "production",
    ]


def test_each_deploy_migrates_first_then_smoke_tests():
    steps = yaml.safe_load((WORKFLOWS / "deploy.yml").read_text())["jobs"]["deploy"]["steps"]
    runs = [step.get("run", "") for step in steps]
    deploy = next(i for i, run in enumerate(runs) if "deploy/ecs/deploy.sh" in run)
    smoke = next(i for i, run in enumerate(runs) if "deploy/smoke.py" in run)
    assert deploy < smoke
    script = (ROOT / "deploy" / "ecs" / "deploy.sh").read_text()
    order = [
        "\nstack migrate",
        "aws ecs run-task",
        '"$status" != 0',
        "\nstack app",
        "aws ecs wait services-stable",
    ]
    positions = [script.index(step) for step in order]
    assert positions == sorted(positions), order


async def _smoke(url: str, ready_seconds: str = "30") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "deploy" / "smoke.py"),
        url,
        env={**os.environ, "SMOKE_READY_SECONDS": ready_seconds},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    return process.returncode or 0, output.decode()


async def test_the_smoke_test_passes_against_a_running_server(base_url):
    status, output = await _smoke(base_url)
    assert status == 0, output
    assert "is ready, serves the board and the API, and guards its sockets" in output


async def test_the_smoke_test_fails_where_no_server_answers():
    status, output = await _smoke(f"http://127.0.0.1:{free_port()}", ready_seconds="1")
    assert status != 0 and "not ready" in output


def test_the_deploy_script_parses_and_refuses_an_unknown_environment():
    script = ROOT / "deploy" / "ecs" / "deploy.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    done = subprocess.run(
        [str(script), "qa", "boardroom:abc"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2 and "unknown environment: qa" in done.stderr
