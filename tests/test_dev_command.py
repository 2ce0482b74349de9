"""`boardroom dev` on a machine with nothing configured: embedded services, then a clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil

from tests.support import ROOT, free_port


def _children_alive(pids: list[int]) -> list[int]:
    return [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]


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
        postgres = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if str(tmp_path) in " ".join(p.info["cmdline"] or [])
        ]
        assert started or postgres
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert _children_alive(started) == []
    leftovers = [
        p.pid
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == []


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
