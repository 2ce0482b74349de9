#!/usr/bin/env python3
"""Room fan-out benchmark: task operations in rooms of N Socket.IO clients.

It connects ``--rooms`` rooms of ``--room-size`` python-socketio clients to a running server on
this machine (Boardroom, or ``loadtests/bare_server.py`` for the baseline), emits task
operations (``task:create`` / ``task:update`` / ``task:move``) at a target aggregate rate, open
loop, and reports:

* achieved operations per second (ok acks received in the measurement window / its length);
* delivery latency: emit -> receipt of the broadcast ``event`` by each OTHER member of the room
  (the sender's own copy is ignored), p50/p95/p99/max;
* ack latency for the sender, p50/p99;
* errors: acks with ``ok: false`` (by code), ack timeouts, missing and misrouted deliveries,
  operations skipped because too many were in flight;
* CPU used by the client processes, the server (``--server-pid``) and the whole machine.

Clients are spread over ``--processes`` OS processes (whole rooms per process, so an emit and
its deliveries are matched by ``op_id`` in one process's memory); their samples are merged.

Setup per room: one user is registered over REST (argon2 is slow, so one per room) and its token
is shared by all the room's clients; the first client creates a workspace, a project, columns
and a few tasks; every client joins the project.

It is bounded: the load stops after ``--warmup + --duration`` seconds, outstanding operations get
``--drain`` more seconds, and a hard deadline kills stuck workers. It only talks to a loopback
address.

    .venv/bin/python loadtests/bench_rooms.py --url http://127.0.0.1:8200 \
        --rooms 50 --rate 1000 --duration 20 --warmup 5 --processes 2 [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import random
import resource
import sys
import time
import uuid
from array import array
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

try:  # the codec Boardroom uses; it also keeps the client side cheaper
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

LOOPBACK = ("127.0.0.1", "localhost", "::1")
PASSWORD = "bench-password-0123"
RECENT_TASKS = 64


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    url: str
    rooms: int
    room_size: int
    rate: float
    duration: float
    warmup: float
    processes: int
    mix: tuple[float, float, float]  # create, update, move
    columns: int
    seed_tasks: int
    ack_timeout: float
    drain: float
    max_inflight: int
    setup_timeout: float
    setup_concurrency: int
    connect_concurrency: int
    deflate: bool
    run_id: str
    seed: int


class _OrjsonCodec:
    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes, **_: Any) -> Any:
        return orjson.loads(data)


def _new_client(cfg: Config) -> socketio.AsyncClient:
    kwargs: dict[str, Any] = {"reconnection": False}
    if orjson is not None:
        kwargs["json"] = _OrjsonCodec
    if cfg.deflate:
        # Offer permessage-deflate the way browsers do; python-socketio's client (aiohttp's
        # ws_connect with compress=0) does not offer it by default.
        kwargs["websocket_extra_options"] = {"compress": 15}
    return socketio.AsyncClient(**kwargs)


# --- one worker process: whole rooms ------------------------------------------------------------


class BenchError(RuntimeError):
    pass


@dataclass
class Room:
    index: int
    token: str = ""
    project_id: str = ""
    columns: list[str] = field(default_factory=list)
    # recent tasks -> their latest known version (task:update names its base_version)
    tasks: OrderedDict[str, int] = field(default_factory=OrderedDict)
    # tasks with an update or move in flight: not picked again until it is answered, so the
    # benchmark does not manufacture edit conflicts (a user edits what they last saw)
    busy: set[str] = field(default_factory=set)
    clients: list[socketio.AsyncClient] = field(default_factory=list)
    next_sender: int = 0

    def remember(self, task: Any, new: bool = False) -> None:
        """Track a task dict seen in an ack or event (``new``: start tracking it)."""
        if not isinstance(task, dict):
            return
        task_id, version = task.get("id"), task.get("version")
        if not isinstance(task_id, str) or not isinstance(version, int):
            return
        known = self.tasks.get(task_id)
        if known is None:
            if not new:
                return
            self.tasks[task_id] = version
            if len(self.tasks) > RECENT_TASKS:
                self.tasks.popitem(last=False)
        elif version > known:
            self.tasks[task_id] = version


class Op:
    __slots__ = (
        "acked",
        "delivered",
        "expired",
        "kind",
        "measured",
        "room",
        "sender",
        "sent",
        "task_id",
    )

    def __init__(
        self, room: int, sender: int, kind: str, sent: float, measured: bool, task_id: str | None
    ) -> None:
        self.room = room
        self.task_id = task_id
        self.sender = sender
        self.kind = kind
        self.sent = sent
        self.measured = measured
        self.acked = False
        self.expired = False
        self.delivered = 0


class Worker:
    def __init__(self, cfg: Config, worker_id: int, room_indexes: list[int]) -> None:
        self.cfg = cfg
        self.id = worker_id
        self.rooms = [Room(i) for i in room_indexes]
        self.rooms_by_index = {r.index: r for r in self.rooms}
        # connects and disconnects are bounded: a burst of them is a different benchmark
        self.connect_sem = asyncio.Semaphore(cfg.connect_concurrency)
        self.others = cfg.room_size - 1
        self.rng = random.Random(cfg.seed * 1000 + worker_id)
        self.op_counter = itertools.count()
        self.pending: dict[str, Op] = {}
        # window bounds in this process's perf_counter time, set by run()
        self.window_start = float("inf")
        self.window_end = float("inf")
        # measurement
        self.delivery_ms = array("d")
        self.ack_ms = array("d")
        self.sent_measured = 0
        self.sent_kinds: Counter[str] = Counter()
        self.acks_ok_in_window = 0
        self.deliveries_in_window = 0
        self.ack_errors: Counter[str] = Counter()
        self.ack_timeouts = 0
        self.late_acks = 0
        self.missing_deliveries = 0
        self.misrouted = 0
        self.stray = 0
        self.skipped = 0
        self.max_lag = 0.0
        self.lag_sum = 0.0
        self.lag_n = 0
        self.disconnects = 0
        self.compress: Any = None

    # -- setup ------------------------------------------------------------------------------

    async def _call(self, client: socketio.AsyncClient, event: str, payload: dict[str, Any]) -> Any:
        reply = await client.call(event, payload, timeout=self.cfg.ack_timeout)
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            raise BenchError(f"{event} failed: {reply!r}")
        return reply.get("data")

    def _op_id(self, tag: str) -> str:
        return f"{tag}-{self.cfg.run_id}-{self.id}-{next(self.op_counter)}"

    async def _register(self, http: aiohttp.ClientSession, room: Room) -> None:
        email = f"bench-{self.cfg.run_id}-r{room.index}@example.com"
        body = {"email": email, "password": PASSWORD, "display_name": f"Bench room {room.index}"}
        async with http.post(f"{self.cfg.url}/api/v1/auth/register", json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 201:
                raise BenchError(f"register failed ({resp.status}): {data!r}")
        room.token = data["access_token"]

    async def _connect(self, room: Room, member: int) -> socketio.AsyncClient:
        client = _new_client(self.cfg)
        client.on("event", self._make_event_handler(room, member))
        client.on("disconnect", self._on_disconnect)
        async with self.connect_sem:
            await client.connect(
                self.cfg.url,
                auth={"token": room.token},
                transports=["websocket"],
                wait_timeout=self.cfg.ack_timeout,
            )
        return client

    def _on_disconnect(self, *args: Any) -> None:
        if not self.stopping:
            self.disconnects += 1

    async def _setup_room(
        self, http: aiohttp.ClientSession, room: Room, sem: asyncio.Semaphore
    ) -> None:
        async with sem:
            await self._register(http, room)
            owner = await self._connect(room, 0)
            room.clients.append(owner)
            ws = await self._call(
                owner,
                "workspace:create",
                {"op_id": self._op_id("ws"), "name": f"Bench {room.index}"},
            )
            project = await self._call(
                owner,
                "project:create",
                {"op_id": self._op_id("pr"), "workspace_id": ws["id"], "name": "Bench board"},
            )
            room.project_id = project["id"]
            for n in range(self.cfg.columns):
                col = await self._call(
                    owner,
                    "column:create",
                    {
                        "op_id": self._op_id("col"),
                        "project_id": room.project_id,
                        "name": f"Column {n}",
                    },
                )
                room.columns.append(col["id"])
            for n in range(self.cfg.seed_tasks):
                task = await self._call(
                    owner,
                    "task:create",
                    {
                        "op_id": self._op_id("seed"),
                        "project_id": room.project_id,
                        "column_id": room.columns[0],
                        "title": f"Seed task {n}",
                    },
                )
                room.remember(task, new=True)
            others = await asyncio.gather(
                *(self._connect(room, m) for m in range(1, self.cfg.room_size))
            )
            room.clients.extend(others)
            await asyncio.gather(
                *(
                    self._call(c, "project:join", {"project_id": room.project_id})
                    for c in room.clients
                )
            )
        if self.compress is None:
            ws_ = getattr(room.clients[0].eio, "ws", None)
            self.compress = getattr(ws_, "compress", None)

    async def setup(self) -> None:
        sem = asyncio.Semaphore(self.cfg.setup_concurrency)
        async with aiohttp.ClientSession() as http:
            await asyncio.gather(*(self._setup_room(http, r, sem) for r in self.rooms))

    # -- receive ----------------------------------------------------------------------------

    def _make_event_handler(self, room: Room, member: int) -> Any:
        pending = self.pending

        timeout = self.cfg.ack_timeout

        def on_event(data: Any) -> None:
            now = time.perf_counter()
            op_id = data.get("op_id") if isinstance(data, dict) else None
            op = pending.get(op_id)  # type: ignore[arg-type]
            if op is None:
                self.stray += 1  # setup ops, or ops already timed out
                return
            if op.room != room.index:
                self.misrouted += 1
                return
            if now - op.sent > timeout:
                self._expire_one(op_id, op)  # type: ignore[arg-type]
                return
            if member == 0:  # one copy per room keeps the known task versions current
                body = data.get("data")
                if isinstance(body, dict):
                    room.remember(body.get("task"))
            if member == op.sender:
                return  # the sender's own copy of the broadcast is not measured
            op.delivered += 1
            if op.measured:
                self.delivery_ms.append((now - op.sent) * 1000.0)
            if self.window_start <= now < self.window_end:
                self.deliveries_in_window += 1
            if op.acked and op.delivered >= self.others:
                pending.pop(op_id, None)  # type: ignore[arg-type]

        return on_event

    def _make_ack(self, op_id: str, op: Op, room: Room) -> Any:
        def on_ack(reply: Any = None, *_: Any) -> None:
            now = time.perf_counter()
            if op.acked:
                return
            if not op.expired and now - op.sent > self.cfg.ack_timeout:
                self._expire_one(op_id, op)
            op.acked = True
            ok = isinstance(reply, dict) and reply.get("ok") is True
            if ok and self.window_start <= now < self.window_end:
                # throughput counts every op the server completed in the window, including
                # ops the bench already gave up on (their latency is censored, see _expire)
                self.acks_ok_in_window += 1
            if op.expired:
                self.late_acks += 1
                return
            if op.task_id is not None:
                room.busy.discard(op.task_id)
            if ok:
                if op.measured:
                    self.ack_ms.append((now - op.sent) * 1000.0)
                room.remember(reply.get("data"), new=op.kind == "task:create")
            else:
                error = reply.get("error") if isinstance(reply, dict) else None
                code = error.get("code", "unknown") if isinstance(error, dict) else "malformed"
                if op.measured:
                    self.ack_errors[str(code)] += 1
                # a refused operation is not broadcast: stop waiting for deliveries
                self.pending.pop(op_id, None)
                return
            if op.delivered >= self.others:
                self.pending.pop(op_id, None)

        return on_ack

    def _expire(self, older_than: float) -> None:
        """Give up on operations emitted before ``older_than``."""
        for op_id, op in list(self.pending.items()):
            if op.sent < older_than:
                self._expire_one(op_id, op)

    def _expire_one(self, op_id: str, op: Op) -> None:
        """Give up on one operation and count what it lacked. Anything arriving for it later
        is not a latency sample: percentiles report such ops as ">timeout"."""
        self.pending.pop(op_id, None)
        op.expired = True
        if op.task_id is not None:
            self.rooms_by_index[op.room].busy.discard(op.task_id)
        if op.measured:
            if not op.acked:
                self.ack_timeouts += 1
            self.missing_deliveries += self.others - op.delivered

    # -- send -------------------------------------------------------------------------------

    def _idle_task(self, room: Room) -> str | None:
        """A recently seen task with nothing in flight, or None."""
        if not room.tasks:
            return None
        ids = list(room.tasks)
        for _ in range(4):
            task_id = self.rng.choice(ids)
            if task_id not in room.busy:
                return task_id
        return None

    def _payload(self, room: Room) -> tuple[str, dict[str, Any], str | None]:
        """(event, payload, task it touches); falls back to a create if no task is idle."""
        create, update, _move = self.cfg.mix
        r = self.rng.random()
        base: dict[str, Any] = {"project_id": room.project_id}
        task_id = None if r < create else self._idle_task(room)
        if task_id is None:
            title = f"Task {self.rng.randrange(1_000_000)}"
            return (
                "task:create",
                base | {"column_id": self.rng.choice(room.columns), "title": title},
                None,
            )
        if r < create + update:
            return (
                "task:update",
                base
                | {
                    "task_id": task_id,
                    "base_version": room.tasks[task_id],
                    "title": f"Renamed {self.rng.randrange(1_000_000)}",
                },
                task_id,
            )
        return (
            "task:move",
            base
            | {
                "task_id": task_id,
                "column_id": self.rng.choice(room.columns),
                "after_id": None,
            },
            task_id,
        )

    async def _send_one(self, room: Room, measured: bool) -> None:
        if len(self.pending) >= self.cfg.max_inflight:
            if measured:
                self.skipped += 1
            return
        sender = room.next_sender
        room.next_sender = (sender + 1) % self.cfg.room_size
        client = room.clients[sender]
        kind, payload, task_id = self._payload(room)
        op_id = self._op_id("op")
        payload["op_id"] = op_id
        op = Op(room.index, sender, kind, time.perf_counter(), measured, task_id)
        self.pending[op_id] = op
        if task_id is not None:
            room.busy.add(task_id)
        if measured:
            self.sent_measured += 1
            self.sent_kinds[kind] += 1
        try:
            await client.emit(kind, payload, callback=self._make_ack(op_id, op, room))
        except socketio.exceptions.SocketIOError:
            self.pending.pop(op_id, None)
            if task_id is not None:
                room.busy.discard(task_id)
            if measured:
                self.ack_errors["emit_failed"] += 1

    async def drive(self, t0: float) -> None:
        """Open loop: keep the emitted count at ``rate * elapsed`` from ``t0`` to the end."""
        cfg = self.cfg
        rate = cfg.rate * len(self.rooms) / cfg.rooms
        if rate <= 0:
            return
        end = t0 + cfg.warmup + cfg.duration
        room_cycle = itertools.cycle(self.rooms)
        sent = 0
        next_sweep = t0 + 1.0
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            due = int((now - t0) * rate) + 1  # op k is due at t0 + k / rate
            while sent < due:
                scheduled = t0 + sent / rate
                lag = time.perf_counter() - scheduled
                measured = self.window_start <= scheduled < self.window_end
                if measured:
                    self.max_lag = max(self.max_lag, lag)
                    self.lag_sum += lag
                    self.lag_n += 1
                await self._send_one(next(room_cycle), measured)
                sent += 1
            if now >= next_sweep:
                self._expire(now - cfg.ack_timeout)
                next_sweep = now + 1.0
            next_due = t0 + sent / rate
            await asyncio.sleep(max(0.0, min(next_due - time.perf_counter(), 0.005)))

    async def drain(self) -> None:
        deadline = time.perf_counter() + self.cfg.drain
        while time.perf_counter() < deadline:  # a bounded poll, once per benchmark
            if not any(op.measured for op in self.pending.values()):
                break
            await asyncio.sleep(0.05)
            self._expire(time.perf_counter() - self.cfg.ack_timeout)
        self._expire(float("inf"))

    async def teardown(self) -> None:
        self.stopping = True
        clients = [c for r in self.rooms for c in r.clients]

        async def leave(c: socketio.AsyncClient) -> None:
            async with self.connect_sem:
                await c.disconnect()

        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(leave(c) for c in clients), return_exceptions=True), 10
            )
        # An overloaded server may not answer the close handshake in time: drop what is left
        # without waiting, and close the HTTP sessions so nothing leaks or warns at exit.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(
                    *(c.eio.disconnect(abort=True) for c in clients), return_exceptions=True
                ),
                3,
            )
        for c in clients:
            http = getattr(c.eio, "http", None)
            if http is not None and not http.closed:
                with contextlib.suppress(Exception):
                    await http.close()

    stopping = False


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _recv(conn: Connection, wait_s: float) -> Any:
    ready = await asyncio.to_thread(conn.poll, wait_s)
    if not ready:
        raise BenchError("the coordinator did not answer in time")
    return conn.recv()


async def _worker_main(
    cfg: Config, worker_id: int, room_indexes: list[int], conn: Connection
) -> None:
    worker = Worker(cfg, worker_id, room_indexes)
    try:
        try:
            await asyncio.wait_for(worker.setup(), cfg.setup_timeout)
        except Exception as exc:
            conn.send(("error", f"worker {worker_id} setup: {type(exc).__name__}: {exc}"))
            return
        conn.send(("ready", len(worker.rooms)))
        msg = await _recv(conn, cfg.setup_timeout + 30)
        if msg[0] != "start":
            return
        wall_start = msg[1]
        t0 = time.perf_counter() + (wall_start - time.time())
        worker.window_start = t0 + cfg.warmup
        worker.window_end = t0 + cfg.warmup + cfg.duration
        await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
        cpu = {}

        async def mark_cpu() -> None:
            await asyncio.sleep(max(0.0, worker.window_start - time.perf_counter()))
            cpu["start"] = _cpu_seconds()
            await asyncio.sleep(max(0.0, worker.window_end - time.perf_counter()))
            cpu["end"] = _cpu_seconds()

        marker = asyncio.create_task(mark_cpu())
        await worker.drive(t0)
        await marker
        await worker.drain()
        conn.send(
            (
                "result",
                {
                    "worker": worker_id,
                    "rooms": len(worker.rooms),
                    "delivery_ms": worker.delivery_ms.tobytes(),
                    "ack_ms": worker.ack_ms.tobytes(),
                    "sent_measured": worker.sent_measured,
                    "sent_kinds": dict(worker.sent_kinds),
                    "acks_ok_in_window": worker.acks_ok_in_window,
                    "deliveries_in_window": worker.deliveries_in_window,
                    "ack_errors": dict(worker.ack_errors),
                    "ack_timeouts": worker.ack_timeouts,
                    "late_acks": worker.late_acks,
                    "missing_deliveries": worker.missing_deliveries,
                    "misrouted": worker.misrouted,
                    "skipped": worker.skipped,
                    "disconnects": worker.disconnects,
                    "max_lag_ms": worker.max_lag * 1000.0,
                    "mean_lag_ms": (worker.lag_sum / worker.lag_n * 1000.0)
                    if worker.lag_n
                    else 0.0,
                    "cpu_seconds": cpu.get("end", 0.0) - cpu.get("start", 0.0),
                    "compress": worker.compress,
                },
            )
        )
    finally:
        await worker.teardown()


def _worker_entry(cfg: Config, worker_id: int, room_indexes: list[int], conn: Connection) -> None:
    try:
        asyncio.run(_worker_main(cfg, worker_id, room_indexes, conn))
    except Exception as exc:  # report rather than die silently
        with contextlib.suppress(Exception):
            conn.send(("error", f"worker {worker_id}: {type(exc).__name__}: {exc}"))
    finally:
        conn.close()


# --- the coordinator -----------------------------------------------------------------------


def _percentile(
    sorted_values: list[float], q: float, censored: int = 0, limit_ms: float = 0.0
) -> float | str | None:
    """Nearest-rank percentile of the samples plus ``censored`` ones known only to exceed
    ``limit_ms`` (timed out); such a percentile is reported as the string ">limit"."""
    n = len(sorted_values) + censored
    if n == 0:
        return None
    rank = max(1, math.ceil(q * n / 100))
    if rank > len(sorted_values):
        return f">{limit_ms:.0f}"
    return sorted_values[rank - 1]


def _proc_cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    except (OSError, IndexError, ValueError):
        return None


def _machine_cpu() -> tuple[int, int, int] | None:
    """(busy, steal, total) jiffies over all CPUs from /proc/stat (guest time is in user)."""
    try:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    values += [0] * (8 - len(values))
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return user + nice + system + irq + softirq, steal, sum(values)


def _split_rooms(rooms: int, processes: int) -> list[list[int]]:
    return [list(range(rooms))[p::processes] for p in range(processes)]


def run(cfg: Config, server_pid: int | None, label: str) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    procs: list[tuple[Any, Connection]] = []
    for worker_id, room_indexes in enumerate(_split_rooms(cfg.rooms, cfg.processes)):
        if not room_indexes:
            continue
        parent, child = ctx.Pipe()
        proc = ctx.Process(
            target=_worker_entry,
            args=(cfg, worker_id, room_indexes, child),
            name=f"bench-worker-{worker_id}",
            daemon=True,
        )
        proc.start()
        child.close()
        procs.append((proc, parent))

    hard_deadline = (
        time.monotonic() + cfg.setup_timeout + cfg.warmup + cfg.duration + cfg.drain + 60
    )

    def recv(conn: Connection) -> Any:
        remaining = hard_deadline - time.monotonic()
        if remaining <= 0 or not conn.poll(remaining):
            raise BenchError("a worker did not answer before the hard deadline")
        return conn.recv()

    results: list[dict[str, Any]] = []
    try:
        setup_began = time.monotonic()
        for _, conn in procs:
            try:
                msg = recv(conn)
            except EOFError as exc:
                raise BenchError("a worker exited during setup") from exc
            if msg[0] != "ready":
                raise BenchError(msg[1])
        setup_seconds = time.monotonic() - setup_began
        wall_start = time.time() + 0.5
        for _, conn in procs:
            conn.send(("start", wall_start))

        # server and machine CPU over the measurement window
        time.sleep(max(0.0, wall_start + cfg.warmup - time.time()))
        server_cpu0 = _proc_cpu_seconds(server_pid) if server_pid else None
        machine0 = _machine_cpu()
        load0 = os.getloadavg()
        time.sleep(max(0.0, wall_start + cfg.warmup + cfg.duration - time.time()))
        server_cpu1 = _proc_cpu_seconds(server_pid) if server_pid else None
        machine1 = _machine_cpu()

        for _, conn in procs:
            try:
                msg = recv(conn)
            except EOFError as exc:
                raise BenchError("a worker exited during the run") from exc
            if msg[0] != "result":
                raise BenchError(msg[1])
            results.append(msg[1])
    finally:
        for _, conn in procs:
            conn.close()  # a worker still waiting for "start" sees EOF and exits
        for proc, _ in procs:
            proc.join(timeout=15)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)

    delivery: list[float] = []
    ack: list[float] = []
    errors: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for r in results:
        delivery.extend(array("d", r["delivery_ms"]))
        ack.extend(array("d", r["ack_ms"]))
        errors.update(r["ack_errors"])
        kinds.update(r["sent_kinds"])
    delivery.sort()
    ack.sort()

    def total(key: str) -> int:
        return sum(int(r[key]) for r in results)

    d = cfg.duration
    timeout_ms = cfg.ack_timeout * 1000.0
    out: dict[str, Any] = {
        "label": label,
        "url": cfg.url,
        "rooms": cfg.rooms,
        "room_size": cfg.room_size,
        "clients": cfg.rooms * cfg.room_size,
        "processes": len(procs),
        "target_rate": cfg.rate,
        "duration_s": cfg.duration,
        "warmup_s": cfg.warmup,
        "mix_create_update_move": list(cfg.mix),
        "sent_by_kind": dict(kinds),
        "client_offers_deflate": cfg.deflate,
        "deflate_negotiated": any(bool(r["compress"]) for r in results),
        "setup_s": round(setup_seconds, 2),
        "sent_ops_per_s": round(total("sent_measured") / d, 1),
        "achieved_ops_per_s": round(total("acks_ok_in_window") / d, 1),
        "delivered_per_s": round(total("deliveries_in_window") / d, 1),
        "delivery_ms": {
            "n": len(delivery),
            "missing": total("missing_deliveries"),
            "p50": _percentile(delivery, 50, total("missing_deliveries"), timeout_ms),
            "p95": _percentile(delivery, 95, total("missing_deliveries"), timeout_ms),
            "p99": _percentile(delivery, 99, total("missing_deliveries"), timeout_ms),
            "max": delivery[-1] if delivery else None,
        },
        "ack_ms": {
            "n": len(ack),
            "timed_out": total("ack_timeouts"),
            "p50": _percentile(ack, 50, total("ack_timeouts"), timeout_ms),
            "p99": _percentile(ack, 99, total("ack_timeouts"), timeout_ms),
            "max": ack[-1] if ack else None,
        },
        "errors": {
            "ack_error": dict(errors),
            "ack_timeout": total("ack_timeouts"),
            "late_ack": total("late_acks"),
            "missing_deliveries": total("missing_deliveries"),
            "misrouted_deliveries": total("misrouted"),
            "skipped_inflight_cap": total("skipped"),
            "disconnects": total("disconnects"),
        },
        "error_total": sum(errors.values()) + total("ack_timeouts") + total("skipped"),
        "client": {
            "cpu_percent_per_process": [
                round(100.0 * r["cpu_seconds"] / d, 1)
                for r in sorted(results, key=lambda r: r["worker"])
            ],
            "max_send_lag_ms": round(max((r["max_lag_ms"] for r in results), default=0.0), 1),
            "mean_send_lag_ms": round(sum(r["mean_lag_ms"] for r in results) / len(results), 2)
            if results
            else 0.0,
        },
        "server_cpu_percent": (
            round(100.0 * (server_cpu1 - server_cpu0) / d, 1)
            if server_cpu0 is not None and server_cpu1 is not None
            else None
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "busy_percent": (
                round(100.0 * (machine1[0] - machine0[0]) / max(1, machine1[2] - machine0[2]), 1)
                if machine0 and machine1
                else None
            ),
            "steal_percent": (
                round(100.0 * (machine1[1] - machine0[1]) / max(1, machine1[2] - machine0[2]), 1)
                if machine0 and machine1
                else None
            ),
            "loadavg_at_window_start": [round(x, 2) for x in load0],
        },
    }
    for block in (out["delivery_ms"], out["ack_ms"]):
        for k, v in block.items():
            if isinstance(v, float):
                block[k] = round(v, 2)
    return out


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.1f}" if isinstance(v, float) else str(v)


def print_human(res: dict[str, Any]) -> None:
    dl, ak, err = res["delivery_ms"], res["ack_ms"], res["errors"]
    lines = [
        f"[{res['label']}] {res['rooms']} rooms x {res['room_size']} clients "
        f"({res['clients']} sockets, {res['processes']} client processes), "
        f"target {res['target_rate']:g} ops/s, {res['duration_s']:g} s after "
        f"{res['warmup_s']:g} s warmup",
        f"  ops/s: sent {res['sent_ops_per_s']}, achieved (ok acks) {res['achieved_ops_per_s']}, "
        f"deliveries/s {res['delivered_per_s']}",
        f"  delivery to the other {res['room_size'] - 1} members (ms, n={dl['n']}): "
        f"p50 {_fmt(dl['p50'])}  p95 {_fmt(dl['p95'])}  p99 {_fmt(dl['p99'])}  "
        f"max {_fmt(dl['max'])}",
        f"  sender ack (ms, n={ak['n']}): p50 {_fmt(ak['p50'])}  p99 {_fmt(ak['p99'])}  "
        f"max {_fmt(ak['max'])}",
        f"  errors: {res['error_total']} total; ack errors {err['ack_error'] or 0}, "
        f"ack timeouts {err['ack_timeout']}, missing deliveries {err['missing_deliveries']}, "
        f"misrouted {err['misrouted_deliveries']}, skipped (in-flight cap) "
        f"{err['skipped_inflight_cap']}, disconnects {err['disconnects']}",
        f"  cpu: server {_fmt(res['server_cpu_percent'])}%, clients "
        f"{res['client']['cpu_percent_per_process']}%, machine busy "
        f"{_fmt(res['machine']['busy_percent'])}% of {res['machine']['cpus']} cpus "
        f"(+{_fmt(res['machine']['steal_percent'])}% stolen by the hypervisor), "
        f"loadavg {res['machine']['loadavg_at_window_start']}",
        f"  client send lag: mean {res['client']['mean_send_lag_ms']} ms, "
        f"max {res['client']['max_send_lag_ms']} ms; permessage-deflate offered "
        f"{res['client_offers_deflate']}, negotiated {res['deflate_negotiated']}",
    ]
    print("\n".join(lines), flush=True)


def _parse_mix(text: str) -> tuple[float, float, float]:
    parts = [float(x) for x in text.split(",")]
    if len(parts) != 3 or any(p < 0 for p in parts) or sum(parts) <= 0:
        raise argparse.ArgumentTypeError("--mix is three non-negative weights: create,update,move")
    s = sum(parts)
    return (parts[0] / s, parts[1] / s, parts[2] / s)


def parse_args(argv: list[str] | None = None) -> tuple[Config, argparse.Namespace]:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--url", default="http://127.0.0.1:8200", help="server on this machine")
    p.add_argument("--rooms", type=int, default=50)
    p.add_argument("--room-size", type=int, default=10)
    p.add_argument("--rate", type=float, default=300.0, help="target total operations per second")
    p.add_argument("--duration", type=float, default=20.0, help="measurement window, seconds")
    p.add_argument("--warmup", type=float, default=5.0, help="load before measuring, seconds")
    p.add_argument("--processes", type=int, default=2, help="client OS processes")
    p.add_argument(
        "--mix",
        type=_parse_mix,
        default=_parse_mix("0.5,0.3,0.2"),
        help="weights of task:create,task:update,task:move",
    )
    p.add_argument("--columns", type=int, default=3, help="columns per board")
    p.add_argument("--seed-tasks", type=int, default=5, help="tasks created per board in setup")
    p.add_argument(
        "--ack-timeout",
        type=float,
        default=10.0,
        help="an op not acked/delivered within this many seconds is a timeout",
    )
    p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for stragglers")
    p.add_argument(
        "--max-inflight",
        type=int,
        default=5000,
        help="per process; beyond it ops are skipped and counted",
    )
    p.add_argument("--setup-timeout", type=float, default=120.0)
    p.add_argument("--setup-concurrency", type=int, default=8, help="rooms set up at once")
    p.add_argument(
        "--connect-concurrency",
        type=int,
        default=16,
        help="per process: socket connects/disconnects in flight at once",
    )
    p.add_argument(
        "--deflate",
        action="store_true",
        help="offer permessage-deflate like a browser (the python client does not)",
    )
    p.add_argument("--server-pid", type=int, default=None, help="report this process's CPU use")
    p.add_argument("--label", default=None, help="name of the run in the output")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--json-out", default=None, help="also append the result as a JSON line here")
    a = p.parse_args(argv)

    parts = urlsplit(a.url)
    if parts.scheme not in ("http", "https") or parts.hostname not in LOOPBACK:
        p.error("--url must be http(s)://127.0.0.1, localhost or [::1]: this bench stays local")
    for name in ("rooms", "processes", "columns"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    if a.room_size < 2:
        p.error("--room-size must be at least 2 (someone must receive)")
    if a.duration <= 0 or a.warmup < 0 or a.rate < 0:
        p.error("--duration must be > 0, --warmup and --rate >= 0")
    if a.seed_tasks < 1:
        p.error("--seed-tasks must be at least 1")
    cfg = Config(
        url=a.url.rstrip("/"),
        rooms=a.rooms,
        room_size=a.room_size,
        rate=a.rate,
        duration=a.duration,
        warmup=a.warmup,
        processes=min(a.processes, a.rooms),
        mix=a.mix,
        columns=a.columns,
        seed_tasks=a.seed_tasks,
        ack_timeout=a.ack_timeout,
        drain=a.drain,
        max_inflight=a.max_inflight,
        setup_timeout=a.setup_timeout,
        setup_concurrency=a.setup_concurrency,
        connect_concurrency=a.connect_concurrency,
        deflate=a.deflate,
        run_id=uuid.uuid4().hex[:10],
        seed=a.seed,
    )
    return cfg, a


def main(argv: list[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    label = args.label or cfg.url
    try:
        res = run(cfg, args.server_pid, label)
    except BenchError as exc:
        print(f"bench_rooms: {exc}", file=sys.stderr)
        return 2
    if args.json_out:
        with open(args.json_out, "a") as f:
            f.write(json.dumps(res) + "\n")
    if args.json:
        print(json.dumps(res), flush=True)
    else:
        print_human(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
