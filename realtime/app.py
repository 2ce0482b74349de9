"""The application factory: builds the aiohttp app with Socket.IO, REST and the static board.

Nothing connects at construction time; the pool opens in ``cleanup_ctx`` when the app starts
and closes when it stops (ADR 0001).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import redis.asyncio as redis
import socketio
from aiohttp import web

from application import tracing
from application.audit_service import AuditService
from application.auth_service import AuthService, LoginThrottle
from application.board_service import BoardService
from application.export_service import ExportService
from application.membership_service import MembershipService
from application.notification_service import NotificationService
from application.project_writes import ProjectWrites
from application.read_service import ReadService
from application.task_details_service import TaskDetailsService
from application.webhook_service import WebhookService
from auth.address_budget import AddressBudget, MemoryAddressBudget, RedisAddressBudget
from auth.passwords import PasswordPolicy, Passwords
from auth.tokens import AccessTokens, DeviceTokens
from domain.errors import Forbidden, Unauthorized
from handlers.address_limits import ADDRESS_BUDGET
from handlers.bearer import AUTH_SERVICE
from handlers.context import ENGINEIO_PATH, echo_request_id, request_context_middleware
from handlers.errors import error_middleware, error_response
from handlers.jsonbody import json_response
from handlers.limits import ConnectionLimits, LimitSettings, LoopLag
from handlers.observe import RECORDER
from handlers.proxies import trusted_networks, trusted_proxy_middleware
from handlers.reconcile import AccessReconciler
from handlers.rest_audit import AUDIT_SERVICE
from handlers.rest_export import EXPORT_SERVICE
from handlers.rest_routes import setup_routes
from handlers.security_headers import security_headers
from handlers.socket_events import SocketHandlers
from persistence import outbox
from persistence.db import make_pool
from realtime import jsoncodec
from realtime.metrics import Metrics
from realtime.packets import TolerantPacket
from realtime.settings import Mode, Settings
from realtime.socketio_server import HandshakeBoundServer, PromptRedisManager
from realtime.websocket import OpenWebSockets, serve_websockets
from rooms.access import LiveAccess
from rooms.broadcaster import RoomBroadcaster
from rooms.connections import (
    ConnectionRegistry,
    LocalConnectionRegistry,
    RedisConnectionRegistry,
)
from rooms.names import is_project_room
from rooms.presence import (
    LocalPresenceStore,
    PresenceStore,
    PresenceTracker,
    RedisPresenceStore,
)
from streams.relay import OutboxRelay, RelayConfig

log = logging.getLogger(__name__)

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio", socketio.AsyncServer)
OPEN_WEBSOCKETS: web.AppKey[OpenWebSockets] = web.AppKey("open_websockets", OpenWebSockets)
BOARD_SERVICE: web.AppKey[BoardService] = web.AppKey("board_service", BoardService)
REDIS: web.AppKey[redis.Redis] = web.AppKey("redis", redis.Redis)
RELAY: web.AppKey[OutboxRelay] = web.AppKey("relay", OutboxRelay)
LOOP_LAG: web.AppKey[LoopLag] = web.AppKey("loop_lag", LoopLag)
PRESENCE: web.AppKey[PresenceTracker] = web.AppKey("presence", PresenceTracker)
METRICS: web.AppKey[Metrics] = web.AppKey("metrics", Metrics)
OUTBOX_GAUGE: web.AppKey[dict[str, float]] = web.AppKey("outbox_gauge", dict)


def make_socketio_server(settings: Settings) -> socketio.AsyncServer:
    """Socket.IO server; with Redis configured, rooms span every instance (ADR 0007)."""
    manager: socketio.AsyncManager | None = None
    if settings.redis_url:
        manager = PromptRedisManager(settings.redis_url, channel=settings.redis_channel)
    else:
        log.warning("REDIS_URL is not set: rooms are local to this single instance")
    sio = HandshakeBoundServer(
        handshake_timeout=settings.handshake_timeout_seconds,
        max_pending=settings.max_pending_handshakes,
        async_mode="aiohttp",
        # WebSocket only: long-polling needs sticky sessions behind a load balancer, and its
        # pending requests kept a stopping server alive for minutes (docs/protocol.md).
        transports=["websocket"],
        client_manager=manager,
        cors_allowed_origins=settings.origins,
        max_http_buffer_size=settings.max_message_bytes,
        json=jsoncodec,
        serializer=TolerantPacket,
        logger=False,
        engineio_logger=False,
    )
    return sio


async def create_app(settings: Settings) -> web.Application:
    """Build the app (async only because asyncpg binds its pool to the running loop)."""
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is required to build the app")
    proxies = trusted_networks(settings.trusted_proxies)
    app = web.Application(
        middlewares=[
            *([trusted_proxy_middleware(proxies)] if proxies else []),
            request_context_middleware,
            error_middleware,
        ],
        client_max_size=settings.max_message_bytes,
    )
    app[SETTINGS] = settings
    app.on_response_prepare.append(security_headers(settings.url))
    app.on_response_prepare.append(echo_request_id)

    pool = make_pool(settings.database_url, settings.db_pool_min, settings.db_pool_max)
    app[POOL] = pool
    sio = make_socketio_server(settings)
    app[SIO] = sio
    app.on_startup.append(_start_listening)
    app[OPEN_WEBSOCKETS] = serve_websockets(sio.eio, compress=settings.websocket_compression)
    sio.attach(app, socketio_path=ENGINEIO_PATH.strip("/"))

    connections = _connection_registry(app, settings)
    app[ADDRESS_BUDGET] = _address_budget(app, settings)
    live = LiveAccess(sio, connections)

    auth_service = _auth_service(settings, pool, live)
    rooms = RoomBroadcaster(sio)
    lag = _loop_lag(app)
    presence = _presence(app, sio, settings)
    writes = ProjectWrites(pool, rooms)
    board = BoardService(pool, writes, settings.replay_window_events)
    app[AUTH_SERVICE] = auth_service
    app[AUDIT_SERVICE] = AuditService(pool)
    app[EXPORT_SERVICE] = ExportService(pool)
    app[BOARD_SERVICE] = board
    limits = _connection_limits(settings, lag)
    metrics = _metrics(app, pool, limits, lag)
    handlers = SocketHandlers(
        sio,
        auth_service,
        board,
        MembershipService(pool, live),
        TaskDetailsService(writes),
        ReadService(pool),
        NotificationService(pool),
        WebhookService(pool, settings.webhook_allow_private),
        rooms,
        connections,
        limits=limits,
        presence=presence,
        expiry_grace_seconds=settings.session_expiry_grace_seconds,
        recorder=metrics,
    )
    handlers.register()
    if isinstance(sio.manager, PromptRedisManager):
        reconciler = AccessReconciler(sio, auth_service, board, handlers.identities)
        sio.manager.on_resubscribed = reconciler.run

    setup_routes(app)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    _setup_static(app, settings)
    app.cleanup_ctx.append(_pool_ctx)
    _relay(app, settings)
    app.on_shutdown.append(_disconnect_sockets)
    return app


def _auth_service(settings: Settings, pool: asyncpg.Pool, live: LiveAccess) -> AuthService:
    return AuthService(
        pool,
        Passwords(PasswordPolicy(settings.argon2_memory_kib, settings.argon2_time_cost)),
        AccessTokens(settings.signing_keys, settings.access_token_ttl_seconds),
        timedelta(seconds=settings.refresh_token_ttl_seconds),
        live,
        DeviceTokens(settings.signing_keys),
        LoginThrottle(settings.login_failures_per_hour, settings.login_device_failures_per_hour),
    )


def _address_budget(app: web.Application, settings: Settings) -> AddressBudget:
    """Credential checks per client address: counted in Redis across instances when there
    is one (``_connection_registry`` made the client), else in this process."""
    per_minute = settings.auth_attempts_per_minute_per_address
    if REDIS in app:
        return RedisAddressBudget(app[REDIS], settings.redis_channel, per_minute)
    return MemoryAddressBudget(per_minute)


def _loop_lag(app: web.Application) -> LoopLag:
    """The event-loop lag monitor, sampling while the app runs."""
    lag = app[LOOP_LAG] = LoopLag()
    app.on_startup.append(_start_lag_monitor)
    app.on_cleanup.append(_stop_lag_monitor)
    return lag


def _presence(
    app: web.Application, sio: socketio.AsyncServer, settings: Settings
) -> PresenceTracker:
    """Presence in Redis when configured (else in the process), refreshed while the app runs."""
    presence = app[PRESENCE] = PresenceTracker(
        sio,
        _presence_store(app, settings),
        ttl=settings.presence_ttl_seconds,
        heartbeat=settings.presence_ttl_seconds / 3,
    )
    app.on_startup.append(_start_presence)
    app.on_shutdown.append(_stop_presence)
    return presence


def _connection_limits(settings: Settings, lag: LoopLag) -> ConnectionLimits:
    return ConnectionLimits(
        LimitSettings(
            per_connection=(settings.rate_limit_per_second, settings.rate_limit_burst),
            per_account=(
                settings.rate_limit_account_per_second,
                settings.rate_limit_account_burst,
            ),
            max_per_user=settings.max_connections_per_user,
            max_connections=settings.max_connections,
            max_loop_lag=settings.max_loop_lag_ms / 1000,
        ),
        lag,
    )


def _relay(app: web.Application, settings: Settings) -> None:
    """An outbox relay beside the server when a broker is configured (ADR 0017)."""
    if settings.kafka_url and settings.outbox_relay:
        app[RELAY] = OutboxRelay(relay_config(settings))
        app.cleanup_ctx.append(_relay_ctx)
    elif not settings.kafka_url:
        log.warning("KAFKA_URL is not set: integration events wait in the outbox")


def _presence_store(app: web.Application, settings: Settings) -> PresenceStore:
    if REDIS in app:
        return RedisPresenceStore(app[REDIS], settings.redis_channel, settings.presence_ttl_seconds)
    return LocalPresenceStore()


def _metrics(
    app: web.Application, pool: asyncpg.Pool, limits: ConnectionLimits, lag: LoopLag
) -> Metrics:
    """The app's metrics, with gauges read at scrape time (the outbox backlog is refreshed
    every few seconds in the background: a scrape must not query the database)."""
    backlog: dict[str, float] = {"count": 0, "age": 0.0}
    app[OUTBOX_GAUGE] = backlog
    metrics = Metrics(
        {
            "boardroom_connected_sockets": (
                "Socket.IO connections held",
                lambda: limits.connections,
            ),
            "boardroom_project_rooms": (
                "project rooms with a socket on this instance",
                lambda: _project_rooms(app[SIO]),
            ),
            "boardroom_event_loop_lag_seconds": (
                "event-loop lag (worst recent)",
                lambda: lag.seconds,
            ),
            "boardroom_db_pool_size": ("database connections open", lambda: _pool_size(pool)),
            "boardroom_db_pool_idle": ("database connections idle", lambda: _pool_idle(pool)),
            "boardroom_outbox_backlog": (
                "integration events not yet relayed",
                lambda: backlog["count"],
            ),
            "boardroom_outbox_oldest_seconds": (
                "age of the oldest of them",
                lambda: backlog["age"],
            ),
        }
    )
    app[METRICS] = metrics
    app[RECORDER] = metrics
    app.cleanup_ctx.append(_outbox_gauge_ctx)
    app.on_cleanup.append(_shutdown_metrics)
    return metrics


def _project_rooms(sio: socketio.AsyncServer) -> int:
    """Rooms of open boards held here (each socket's own room and user rooms not counted)."""
    rooms = sio.manager.rooms.get("/", {})
    return sum(1 for name, members in rooms.items() if is_project_room(name) and members)


def _pool_size(pool: asyncpg.Pool) -> int:
    try:
        return pool.get_size()
    except Exception:  # not started yet, or closed
        return 0


def _pool_idle(pool: asyncpg.Pool) -> int:
    try:
        return pool.get_idle_size()
    except Exception:
        return 0


async def _outbox_gauge_ctx(app: web.Application) -> AsyncIterator[None]:
    async def refresh() -> None:
        while True:
            try:
                async with app[POOL].acquire(timeout=2) as conn:
                    found = await outbox.backlog(conn)
                app[OUTBOX_GAUGE].update(count=found.count, age=found.oldest_age_seconds)
            except Exception as exc:
                log.debug("outbox gauge not refreshed: %s", exc)
            await asyncio.sleep(5)

    with tracing.quiet():  # a scrape-feeding poll, not a request: no trace every 5 s
        task = asyncio.create_task(refresh(), name="outbox-gauge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _shutdown_metrics(app: web.Application) -> None:
    app[METRICS].shutdown()


async def metrics_endpoint(request: web.Request) -> web.Response:
    """Prometheus text exposition of this instance's metrics, for the scraper only: it is on
    the public port, and what it tells (traffic, pools, backlogs) is nobody else's business."""
    settings = request.app[SETTINGS]
    token = settings.metrics_token
    if token is not None:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return error_response(
                Unauthorized("Send Authorization: Bearer <BOARDROOM_METRICS_TOKEN>.")
            )
    elif settings.mode is not Mode.DEV:
        return error_response(Forbidden("Set BOARDROOM_METRICS_TOKEN to read metrics."))
    return web.Response(
        body=request.app[METRICS].exposition(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


async def _start_presence(app: web.Application) -> None:
    with tracing.quiet():  # the heartbeat task inherits this: its refreshes start no traces
        app[PRESENCE].start()


async def _stop_presence(app: web.Application) -> None:
    await app[PRESENCE].stop()


async def _start_lag_monitor(app: web.Application) -> None:
    app[LOOP_LAG].start()


async def _stop_lag_monitor(app: web.Application) -> None:
    await app[LOOP_LAG].stop()


def relay_config(settings: Settings) -> RelayConfig:
    assert settings.database_url and settings.kafka_url
    return RelayConfig(
        database_url=settings.database_url,
        kafka_url=settings.kafka_url,
        topic_prefix=settings.kafka_topic_prefix,
        partitions=settings.kafka_partitions,
        replication=settings.kafka_replication,
        batch_size=settings.outbox_batch_size,
        retention=timedelta(hours=settings.outbox_retention_hours),
    )


async def _relay_ctx(app: web.Application) -> AsyncIterator[None]:
    """Run the outbox relay beside the server (a standby until it holds the relay lock)."""
    relay = app[RELAY]
    task = asyncio.create_task(relay.run(), name="outbox-relay")
    yield
    await relay.stop()
    try:
        await asyncio.wait_for(task, 5)
    except TimeoutError:
        log.warning("the outbox relay did not stop within 5 s")


async def _pool_ctx(app: web.Application) -> AsyncIterator[None]:
    pool = app[POOL]
    await pool  # connects min_size connections
    yield
    await pool.close()


def _connection_registry(app: web.Application, settings: Settings) -> ConnectionRegistry:
    """Where each user's sockets are recorded: Redis across instances, else this process."""
    if not settings.redis_url:
        return LocalConnectionRegistry()
    # A blocking pool queues a burst (a reconnect storm after a deploy) instead of failing
    # once its connections are in use, as redis-py's default pool does.
    redis_client = redis.Redis(
        connection_pool=redis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_pool_max, timeout=5
        )
    )
    app[REDIS] = redis_client
    app.cleanup_ctx.append(_redis_ctx)
    return RedisConnectionRegistry(redis_client, settings.redis_channel)


async def _start_listening(app: web.Application) -> None:
    """Start the client manager (with Redis: its listener) now rather than at the first
    connection, as python-socketio would: readiness then waits for the listener, and the
    instance hears the others before it takes its first client."""
    sio = app[SIO]
    if not sio.manager_initialized:
        sio.manager_initialized = True
        sio.manager.initialize()


async def _redis_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[REDIS].aclose()


async def _disconnect_sockets(app: web.Application) -> None:
    """Close every client socket so a stopping instance exits at once; clients reconnect
    elsewhere. ``AsyncServer.shutdown`` alone only stops background tasks, leaving open
    sockets to hold the process until their ping timeout (about 45 s)."""
    sio = app[SIO]
    if sio.eio.sockets:  # engineio's disconnect-all waits on an empty set otherwise
        await sio.eio.disconnect()  # each client gets its CLOSE packet
    app[OPEN_WEBSOCKETS].close_all()  # realtime.websocket says why
    await sio.shutdown()
    await _stop_pubsub_listener(sio)


async def _stop_pubsub_listener(sio: socketio.AsyncServer) -> None:
    """Stop the Redis manager's listener task, which ``AsyncServer.shutdown`` leaves running.

    Its retry loop catches ``Exception``, and redis-py can surface a cancellation as a
    connection error, so one ``cancel()`` may be swallowed and the task would outlive the app
    (hanging the event loop's close). Cancel until it is done, for at most five seconds.
    """
    task = getattr(sio.manager, "thread", None)
    if task is None:
        return
    for _ in range(20):
        if task.done():
            return
        task.cancel()
        await asyncio.wait({task}, timeout=0.25)
    log.warning("the Socket.IO Redis listener did not stop within 5 s")


async def healthz(request: web.Request) -> web.Response:
    """The process is up and serving."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """The process can serve requests: each dependency it uses answers (Redis if configured)."""
    checks: dict[str, str] = {}
    try:
        async with request.app[POOL].acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        checks["database"] = "up"
    except Exception as exc:
        log.warning("readiness: database check failed: %s", exc)
        checks["database"] = "down"
    if REDIS in request.app:
        try:
            await asyncio.wait_for(request.app[REDIS].ping(), 2)
            checks["redis"] = "up"
        except Exception as exc:
            log.warning("readiness: redis check failed: %s", exc)
            checks["redis"] = "down"
        # Answering a ping is not enough: messages from the other instances must arrive.
        manager = request.app[SIO].manager
        if isinstance(manager, PromptRedisManager) and not manager.listening:
            checks["redis_listener"] = "down"
    ready = all(state == "up" for state in checks.values())
    body: dict[str, object] = {"status": "ok" if ready else "unavailable", **checks}
    if checks["database"] == "up":
        # Reported, not gating: a broker outage delays integration events, not the service.
        body["outbox"] = await _outbox_state(request.app)
    return json_response(body, status=200 if ready else 503)


async def _outbox_state(app: web.Application) -> dict[str, object]:
    async with app[POOL].acquire(timeout=2) as conn:
        state: dict[str, object] = (await outbox.backlog(conn)).as_dict()
    relay = app.get(RELAY)
    state["relay"] = "leading" if relay and relay.leader else ("standby" if relay else "off")
    return state


def _setup_static(app: web.Application, settings: Settings) -> None:
    static_dir = settings.static_dir
    if not (static_dir / "index.html").is_file():
        log.warning("no browser board at %s; serving the API only", static_dir)
        return

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(static_dir / "index.html")

    app.router.add_get("/", index)
    app.router.add_static("/static/", static_dir, follow_symlinks=False)
