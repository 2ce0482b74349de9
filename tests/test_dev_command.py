"""`boardroom dev` on a machine with nothing configured: embedded services, then a clean Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil

from tests.support import ROOT, free_port


def _children_alive(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
    return alive


def _ours(data_dir: str) -> list[int]:
    """Processes whose command line names our data directory (the embedded services)."""
    return [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if data_dir in " ".join(p.info["cmdline"] or [])
    ]


def _leftovers(started: list[int], data_dir: str, timeout: float) -> list[int]:
    """What is still running of ``started`` or of the embedded services after ``timeout``
    seconds (returns as soon as nothing is). Zombies count as gone: in a container
    nobody may reap them."""
    deadline = time.monotonic() + timeout
    while True:
        alive = _children_alive(started) + _ours(data_dir)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def test_dev_serves_the_board_and_ctrl_c_leaves_no_process_behind(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["BOARDROOM_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime.cli", "dev", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    banner = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            banner.append(line)
            if "Log in as" in line or proc.poll() is not None:
                break
        output = "".join(banner)
        assert f"http://127.0.0.1:{port}" in output, output
        assert "demo@boardroom.dev" in output
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as resp:
            assert resp.status == 200
        started = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert started or _ours(str(tmp_path))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
    assert proc.returncode == 0
    # Children stopped by the command may take a moment to exit; none may stay.
    assert _leftovers(started, str(tmp_path), timeout=15) == []


def test_migrate_needs_the_database_and_no_secret(services):
    env = {k: v for k, v in os.environ.items() if k != "BOARDROOM_JWT_SECRET"}
    env["DATABASE_URL"] = services.database_url
    result = subprocess.run(
        [sys.executable, "-m", "realtime.cli", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "latest schema (0 migration(s) applied now)" in result.stderr
