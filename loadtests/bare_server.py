#!/usr/bin/env python3
"""A bare python-socketio broadcast server: the baseline that ``bench_rooms.py`` compares with.

It speaks just enough of Boardroom's protocol for the benchmark to run unchanged against it,
and does nothing else: no database, no authentication, no validation beyond reading the fields
it echoes. What is left is the cost every Socket.IO server on this stack pays anyway:

* ``connect`` accepts any ``auth`` payload;
* ``workspace:create`` / ``project:create`` / ``column:create`` ack with a fresh id;
* ``project:join`` enters the room ``project:<id>`` and acks;
* ``task:create`` / ``task:update`` / ``task:move`` broadcast an ``event`` shaped like
  Boardroom's (``project_id, seq, type, actor_id, op_id, at, data``) to the room, then ack
  ``{"ok": true, "data": ..., "seq": n}`` -- the same order as Boardroom (publish, then ack);
* ``POST /api/v1/auth/register`` returns a dummy token; ``GET /readyz`` says ok.

Like Boardroom it uses orjson as the Socket.IO JSON codec, the same 64 KiB message limit and,
with ``--redis-url``, python-socketio's ``AsyncRedisManager`` (the fair baseline for Boardroom
run with ``REDIS_URL``: every emit makes the same round trip through Redis pub/sub).

    .venv/bin/python loadtests/bare_server.py --port 8300 \
        [--redis-url redis://127.0.0.1:6379/0 --redis-channel bare-bench-123]

It only listens on a loopback address.
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import orjson
import socketio
from aiohttp import web

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ACTOR_ID = str(uuid.UUID(int=0))
MAX_MESSAGE_BYTES = 64 * 1024


class _OrjsonCodec:
    """orjson behind the ``json`` module interface python-socketio expects (as Boardroom)."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj, default=str).decode()

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        return orjson.loads(data)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def build_app(redis_url: str | None, redis_channel: str) -> web.Application:
    manager = socketio.AsyncRedisManager(redis_url, channel=redis_channel) if redis_url else None
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        client_manager=manager,
        cors_allowed_origins=[],
        max_http_buffer_size=MAX_MESSAGE_BYTES,
        json=_OrjsonCodec,
        logger=False,
        engineio_logger=False,
    )
    app = web.Application(client_max_size=MAX_MESSAGE_BYTES)
    sio.attach(app, socketio_path="socket.io")
    seqs: defaultdict[str, int] = defaultdict(int)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        return None

    def created(kind: str) -> Any:
        async def handler(sid: str, data: dict[str, Any]) -> dict[str, Any]:
            now = _now()
            return {"ok": True, "data": {"id": str(uuid.uuid4()), "kind": kind, "at": now}}

        return handler

    async def project_join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        project_id = str(data["project_id"])
        await sio.enter_room(sid, f"project:{project_id}")
        return {
            "ok": True,
            "data": {
                "project": {"id": project_id},
                "columns": [],
                "tasks": [],
                "seq": seqs[project_id],
            },
        }

    def mutation(event_type: str) -> Any:
        async def handler(sid: str, data: dict[str, Any]) -> dict[str, Any]:
            project_id = str(data["project_id"])
            seqs[project_id] += 1
            seq = seqs[project_id]
            now = _now()
            # A task shaped like Boardroom's Task.as_dict(), so messages are about as large.
            task = {
                "id": str(data.get("task_id") or uuid.uuid4()),
                "project_id": project_id,
                "column_id": str(data.get("column_id") or uuid.UUID(int=1)),
                "title": data.get("title", ""),
                "description": "",
                "position": "a0",
                "version": seq,
                "created_by": ACTOR_ID,
                "created_at": now,
                "updated_at": now,
            }
            event = {
                "project_id": project_id,
                "seq": seq,
                "type": event_type,
                "actor_id": ACTOR_ID,
                "op_id": data["op_id"],
                "at": now,
                "data": {"task": task},
            }
            await sio.emit("event", event, room=f"project:{project_id}")
            return {"ok": True, "data": task, "seq": seq}

        return handler

    sio.on("connect", connect)
    for name in ("workspace:create", "project:create", "column:create"):
        sio.on(name, created(name.split(":")[0]))
    sio.on("project:join", project_join)
    sio.on("task:create", mutation("task.created"))
    sio.on("task:update", mutation("task.updated"))
    sio.on("task:move", mutation("task.moved"))

    async def register(request: web.Request) -> web.Response:
        body = orjson.dumps(
            {"access_token": "bare", "refresh_token": "bare", "user": {"id": ACTOR_ID}}
        )
        return web.Response(body=body, status=201, content_type="application/json")

    async def ready(request: web.Request) -> web.Response:
        return web.Response(body=b'{"status":"ok"}', content_type="application/json")

    app.router.add_post("/api/v1/auth/register", register)
    app.router.add_get("/readyz", ready)
    app.router.add_get("/healthz", ready)

    async def shutdown(app: web.Application) -> None:
        await sio.shutdown()

    app.on_shutdown.append(shutdown)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address only")
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--redis-url", default=None, help="use AsyncRedisManager (like Boardroom)")
    parser.add_argument("--redis-channel", default=f"bare-bench-{uuid.uuid4().hex[:8]}")
    args = parser.parse_args(argv)
    if args.host not in LOOPBACK:
        sys.exit("bare_server: refusing to listen on a non-loopback address")
    logging.basicConfig(level=logging.WARNING)
    app = build_app(args.redis_url, args.redis_channel)
    print(
        f"bare server on http://{args.host}:{args.port} "
        f"(redis: {'yes, channel ' + args.redis_channel if args.redis_url else 'no'})",
        flush=True,
    )
    web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
