#!/usr/bin/env python3
"""Pipeline lag benchmark: commit -> live notification, and commit -> audit row.

Starts everything it measures as real processes on this machine, in a fresh database: the tansu
broker (unless ``KAFKA_URL`` is set), one ``boardroom serve`` (with its outbox relay) and one
``boardroom worker``. Then, at a steady ``--rate`` of operations per second for ``--duration``
seconds, an owner assigns and unassigns tasks to an assignee who is connected over Socket.IO.
Each ``task:assign`` notifies the assignee. It reports, p50/p95/p99/max:

* notification lag: the owner's ack (the change is committed just before it is sent) -> the
  ``notification`` event arriving on the assignee's socket;
* audit lag: ``audit_log.recorded_at - occurred_at`` for every project event of the run
  (``occurred_at`` is the event's transaction time, so this slightly over-states the lag);
* relay lag: ``outbox.published_at - created_at`` (commit to the broker's acknowledgement).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python loadtests/bench_pipeline.py --rate 50 --duration 30 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import socketio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loadtests.bench_db import fresh_database  # noqa: E402
from realtime.embedded import EmbeddedKafka, free_port  # noqa: E402

SECRET = "bench-secret-that-is-long-enough-0123456789abcdef"


def percentiles(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {}
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50) * 1000, 1),
        "p95_ms": round(at(0.95) * 1000, 1),
        "p99_ms": round(at(0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], ready: str | None = None) -> None:
        self.log = Path(tempfile.mkstemp(prefix="bench-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.p = subprocess.Popen(
                [sys.executable, "-m", "realtime.cli", *args],
                env={**os.environ, **env},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if ready:
            deadline = time.monotonic() + 90
            while ready not in self.log.read_text(errors="replace"):
                if time.monotonic() > deadline or self.p.poll() is not None:
                    raise RuntimeError(self.log.read_text(errors="replace")[-3000:])
                time.sleep(0.1)

    def stop(self) -> None:
        self.p.terminate()
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.log.unlink(missing_ok=True)


async def register(http: aiohttp.ClientSession, url: str, name: str) -> dict[str, Any]:
    body = {
        "email": f"{name}-{uuid.uuid4().hex[:8]}@bench.example.com",
        "password": "bench password 1",
        "display_name": name,
    }
    async with http.post(f"{url}/api/v1/auth/register", json=body) as resp:
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with fresh_database(os.environ["DATABASE_URL"]) as database_url:
        return await _run(database_url, args)


async def _run(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    redis_url = os.environ["REDIS_URL"]
    broker = None if os.environ.get("KAFKA_URL") else EmbeddedKafka()
    kafka_url = os.environ.get("KAFKA_URL") or broker.start()  # type: ignore[union-attr]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_URL": kafka_url,
        "BOARDROOM_KAFKA_TOPIC_PREFIX": prefix,
        "BOARDROOM_REDIS_CHANNEL": prefix,
        "BOARDROOM_JWT_SECRET": SECRET,
        "BOARDROOM_ALLOWED_ORIGINS": url,
        "BOARDROOM_RATE_LIMIT_PER_SECOND": "100000",
        "BOARDROOM_RATE_LIMIT_ACCOUNT_PER_SECOND": "100000",
        "BOARDROOM_RATE_LIMIT_ACCOUNT_BURST": "100000",
        "BOARDROOM_RATE_LIMIT_BURST": "100000",
        "BOARDROOM_AUTH_ATTEMPTS_PER_MINUTE_PER_ADDRESS": "100000",
    }
    procs = [Proc(["worker"], env, ready="Worker]: Ready")]
    procs.append(Proc(["serve", "--port", str(port)], env, ready="listening on"))
    clients: list[socketio.AsyncClient] = []
    try:
        async with aiohttp.ClientSession() as http:
            owner = await register(http, url, "owner")
            assignee = await register(http, url, "assignee")
            sio_owner = socketio.AsyncClient(reconnection=False)
            sio_assignee = socketio.AsyncClient(reconnection=False)
            clients += [sio_owner, sio_assignee]
            received: dict[str, float] = {}

            @sio_assignee.on("notification")
            async def on_notification(data: dict[str, Any]) -> None:
                received.setdefault(str(data["data"].get("seq")), time.perf_counter())

            for sio, account in ((sio_owner, owner), (sio_assignee, assignee)):
                await sio.connect(
                    url, auth={"token": account["access_token"]}, transports=["websocket"]
                )

            async def ok(event: str, payload: dict[str, Any]) -> dict[str, Any]:
                reply = await sio_owner.call(event, payload, timeout=30)
                assert reply["ok"], reply
                return dict(reply)

            def op() -> str:
                return uuid.uuid4().hex

            ws = await ok("workspace:create", {"op_id": op(), "name": "bench"})
            project = await ok(
                "project:create", {"op_id": op(), "workspace_id": ws["data"]["id"], "name": "bench"}
            )
            pid = project["data"]["id"]
            column = await ok("column:create", {"op_id": op(), "project_id": pid, "name": "c"})
            await ok(
                "member:invite",
                {
                    "op_id": op(),
                    "workspace_id": ws["data"]["id"],
                    "email": assignee["user"]["email"],
                    "role": "member",
                },
            )
            tasks = []
            # Enough tasks that each is touched about once a second: an assign and the next
            # unassign of one task are never in flight together.
            for i in range(int(args.rate) + 10):
                task = await ok(
                    "task:create",
                    {
                        "op_id": op(),
                        "project_id": pid,
                        "column_id": column["data"]["id"],
                        "title": f"t{i}",
                    },
                )
                tasks.append(task["data"]["id"])
            assigned: set[str] = set()
            errors: dict[str, int] = {}
            succeeded: list[int] = []
            acked: dict[str, float] = {}
            await asyncio.sleep(3)  # let the worker catch up with the set-up
            first_seq = None
            interval = 1.0 / args.rate
            pending: set[asyncio.Task[None]] = set()

            async def one(i: int) -> None:
                nonlocal first_seq
                task = tasks[i % len(tasks)]
                event = "task:unassign" if task in assigned else "task:assign"
                if event == "task:assign":
                    assigned.add(task)
                else:
                    assigned.discard(task)
                reply = await sio_owner.call(
                    event,
                    {
                        "op_id": op(),
                        "project_id": pid,
                        "task_id": task,
                        "user_id": assignee["user"]["id"],
                    },
                )
                if not reply["ok"]:  # over capacity, ops on one task overlap
                    errors[reply["error"]["code"]] = errors.get(reply["error"]["code"], 0) + 1
                    return
                succeeded.append(reply["seq"])
                if first_seq is None:
                    first_seq = reply["seq"]
                if event == "task:assign":
                    acked[str(reply["seq"])] = time.perf_counter()

            t0 = time.perf_counter()
            for i in range(int(args.rate * args.duration)):
                target = t0 + i * interval
                delay = target - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                job = asyncio.ensure_future(one(i))
                pending.add(job)
                job.add_done_callback(pending.discard)
            await asyncio.gather(*pending)
            achieved = len(succeeded) / (time.perf_counter() - t0)
            deadline = time.monotonic() + 30
            # Polls what other processes cause; no event of ours to wait on.
            while set(acked) - set(received) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            lags = [received[s] - acked[s] for s in acked if s in received]
            missing = len(set(acked) - set(received))
            conn = await asyncpg.connect(database_url)
            try:
                deadline = time.monotonic() + 30
                query = (
                    "SELECT count(*) FROM outbox o WHERE NOT EXISTS "
                    "(SELECT 1 FROM audit_log a WHERE a.event_id = o.event_id)"
                )
                while await conn.fetchval(query) and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.2)
                rows = await conn.fetch(
                    "SELECT extract(epoch FROM recorded_at - occurred_at) AS lag FROM audit_log "
                    "WHERE kind = 'project' AND (data->>'seq')::bigint >= $1",
                    first_seq or 0,
                )
                relay = await conn.fetch(
                    "SELECT extract(epoch FROM published_at - created_at) AS lag FROM outbox "
                    "WHERE payload->>'kind' = 'project' AND (payload->>'seq')::bigint >= $1",
                    first_seq or 0,
                )
            finally:
                await conn.close()
            return {
                "rate_target": args.rate,
                "ops_per_second_achieved": round(achieved, 1),
                "duration_s": args.duration,
                "notification_lag": percentiles(lags),
                "notifications_missing": missing,
                "errors": errors,
                "audit_lag": percentiles([float(r["lag"]) for r in rows]),
                "relay_lag": percentiles([float(r["lag"]) for r in relay]),
            }
    finally:
        for sio in clients:
            with contextlib.suppress(Exception):
                await sio.disconnect()
        for proc in reversed(procs):
            proc.stop()
        if broker:
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=50, help="operations per second")
    parser.add_argument("--duration", type=float, default=30, help="seconds of load")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
