"""The faust-streaming worker: one app, its topics, and the agents (ADR 0019).

Started by ``boardroom worker`` (and by ``boardroom dev``). Agents keep no state in faust
tables: everything they write is in PostgreSQL, keyed so that processing a message twice
changes nothing (tansu cannot recover tables, and at-least-once delivery repeats messages).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from opentelemetry.metrics import Meter
from opentelemetry.trace import Span, SpanKind

from application import tracing
from application.audit_service import AuditService
from application.digest_service import DigestService
from application.notification_service import NotificationService
from application.webhook_service import DeliveryPolicy, WebhookService
from domain.integration import IntegrationEvent, Topic
from persistence.db import make_pool
from rooms.notifications import RoomNotificationPusher
from streams.audit_watch import WINDOW, AuditWatch
from streams.guard import Guard, Handler
from streams.http_sender import HttpWebhookSender
from streams.smtp import SmtpSender
from streams.tansu_compat import App
from streams.topics import bootstrap_servers, topic_name, uses_tls
from streams.worker_metrics import WorkerMetrics, consumer_lag

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    database_url: str
    kafka_url: str
    redis_url: str | None
    redis_channel: str
    topic_prefix: str
    partitions: int
    replication: int = 1
    dead_letter_attempts: int = 3
    timer_interval_seconds: float = 30.0
    due_soon: timedelta = timedelta(hours=24)
    smtp_url: str | None = None
    email_from: str = "Boardroom <no-reply@boardroom.invalid>"
    digest_interval: timedelta = timedelta(hours=1)
    board_url: str = "http://127.0.0.1:8080"
    webhook_allow_private: bool = False
    webhook_policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)
    stall_seconds: float = 120.0


def faust_settings(config: WorkerConfig) -> dict[str, Any]:
    """Settings that work with tansu and with a real Kafka (ROADMAP, "Known facts")."""
    tls = {"broker_credentials": ssl.create_default_context()} if uses_tls(config.kafka_url) else {}
    return {
        **tls,
        "broker": "kafka://" + bootstrap_servers(config.kafka_url).replace(",", ";kafka://"),
        "broker_session_timeout": 10,
        "broker_rebalance_timeout": 10,
        "broker_heartbeat_interval": 1,
        "processing_guarantee": "at_least_once",
        "consumer_auto_offset_reset": "earliest",  # a new group starts from the oldest event
        "topic_allow_declare": False,  # streams.topics creates them, with fixed partitions
        "topic_partitions": config.partitions,
        "store": "memory://",  # no faust tables: state lives in PostgreSQL
        "web_enabled": False,
        # Agents are idempotent, so a message being processed when the partitions are revoked
        # or the worker stops may simply be processed again. Waiting for it instead (faust's
        # default) is how a broker restart wedged the worker for good (ADR 0039).
        "stream_wait_empty": False,
    }


class Resources:
    """The worker's pool and services, made on first use inside faust's event loop."""

    def __init__(self, config: WorkerConfig) -> None:
        self._config = config
        self._lock = asyncio.Lock()
        self._pool: asyncpg.Pool | None = None
        self._dispatch: asyncio.Future[None] | None = None
        self.audit: AuditService
        self.notifications: NotificationService
        self.digests: DigestService | None = None
        self.webhooks: WebhookService
        self._sender: HttpWebhookSender

    async def ready(self) -> Resources:
        async with self._lock:
            if self._pool is None:
                pool = make_pool(self._config.database_url, 1, 4)
                await pool
                pusher = (
                    RoomNotificationPusher(self._config.redis_url, self._config.redis_channel)
                    if self._config.redis_url
                    else None
                )
                self.audit = AuditService(pool)
                self.notifications = NotificationService(pool, pusher)
                self._sender = HttpWebhookSender(self._config.webhook_allow_private)
                self.webhooks = WebhookService(
                    pool,
                    self._config.webhook_allow_private,
                    self._sender,
                    self._config.webhook_policy,
                )
                if self._config.smtp_url:
                    self.digests = DigestService(
                        pool,
                        SmtpSender(self._config.smtp_url, self._config.email_from),
                        self._config.digest_interval,
                        self._config.board_url,
                    )
                self._pool = pool
        return self

    def kick_webhooks(self) -> None:
        """Post newly enqueued deliveries now, in the background (one dispatch at a time)."""
        if self._dispatch is None or self._dispatch.done():
            self._dispatch = asyncio.ensure_future(self._dispatch_quietly())

    async def _dispatch_quietly(self) -> None:
        try:
            await self.webhooks.dispatch_due()
        except Exception:
            log.exception("webhook dispatch failed; the timer retries")

    async def close(self) -> None:
        """Close what ``ready`` opened (on the worker's shutdown)."""
        if self._pool is not None:
            await self._sender.close()
            await self._pool.close()


CONSUMED = (Topic.PROJECT_EVENTS, Topic.SECURITY_EVENTS)
"""The topics the agents read."""


def group_id(config: WorkerConfig) -> str:
    """The worker's app id, which faust uses as its consumer group."""
    return f"{config.topic_prefix}-worker"


def create_worker_app(config: WorkerConfig, meter: Meter | None = None, **runtime: Any) -> App:
    """The app; ``meter`` records its metrics; ``runtime`` adds process settings such as
    ``loghandlers``."""
    app = App(group_id(config), **faust_settings(config), **runtime)
    resources = Resources(config)
    watch = AuditWatch(config.stall_seconds)
    metrics = WorkerMetrics(watch, meter)

    def topic(*names: Topic) -> Any:
        return app.topic(
            *(topic_name(config.topic_prefix, n) for n in names),
            key_serializer="raw",
            value_serializer="raw",
            partitions=config.partitions,
        )

    dead_letter_topic = topic(Topic.DEAD_LETTER)

    async def dead_letter(key: bytes, value: bytes) -> None:
        await dead_letter_topic.send(key=key, value=value)

    def make_guard(agent: str) -> Guard:
        return Guard(agent, dead_letter, config.dead_letter_attempts, on_outcome=metrics.outcome)

    audit_guard = make_guard("audit")
    notify_guard = make_guard("notifications")
    webhook_guard = make_guard("webhooks")

    async def handle(guard: Guard, message: Any, handler: Callable[[Resources], Handler]) -> None:
        """One message through ``guard``, in the agent's span, timed. The services are made
        inside the guard: a database that cannot be reached at the first message is waited
        for like any other outage (raised out of the agent, faust would ack the message)."""

        async def process(event: IntegrationEvent) -> object:
            return await handler(await resources.ready())(event)

        started = time.perf_counter()
        with _consuming(guard.agent, message):
            await guard.process(message.value, process, _source(message))
        metrics.processed(guard.agent, time.perf_counter() - started)

    @app.agent(topic(*CONSUMED), name="audit")
    async def audit(stream: Any) -> None:
        """Every integration event becomes one row of its workspace's hash-chained audit log.
        Idempotent: the append is skipped when the event id is already recorded."""
        async for message in stream.events():
            await handle(audit_guard, message, lambda services: services.audit.record)
            watch.progressed()

    @app.agent(topic(Topic.PROJECT_EVENTS), name="notifications")
    async def notifications(stream: Any) -> None:
        """Project events become notifications for the people concerned, pushed live.
        Idempotent: one notification per (event, user); only unpushed ones are pushed."""
        async for message in stream.events():
            await handle(notify_guard, message, lambda services: services.notifications.deliver)

    @app.agent(topic(Topic.PROJECT_EVENTS), name="webhooks")
    async def outgoing_webhooks(stream: Any) -> None:
        """Project events become durable webhook deliveries (one per webhook and event id:
        idempotent), posted at once and retried by the timer. The agent never waits on a
        receiver: slow endpoints delay only their own deliveries."""
        async for message in stream.events():
            await handle(webhook_guard, message, lambda services: services.webhooks.enqueue)
            resources.kick_webhooks()

    @app.timer(interval=config.timer_interval_seconds)  # type: ignore[untyped-decorator]
    async def scheduled() -> None:
        """Due-date reminders, late live pushes, webhook retries and e-mail digests. Every
        worker runs this; claims in the database make each happen once however many run
        (ADR 0021)."""
        with tracing.span("worker scheduled", context=tracing.NEW_TRACE):
            await _scheduled()

    async def _scheduled() -> None:
        try:
            services = await resources.ready()
            sent = await services.notifications.send_due_reminders(
                datetime.now(UTC), config.due_soon
            )
            if sent:
                log.info("sent %d due-date reminder notification(s)", sent)
            await services.notifications.push_stragglers()
            await services.webhooks.dispatch_due()
            if services.digests is not None:
                emailed = await services.digests.send_due()
                if emailed:
                    log.info("sent %d e-mail digest(s)", emailed)
        except Exception:
            log.exception("scheduled notification work failed; retrying at the next tick")

    async def close_resources(sender: Any, *args: Any, **kwargs: Any) -> None:
        await resources.close()

    app.on_before_shutdown.connect(close_resources)  # type: ignore[arg-type]

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]
    async def lag() -> None:
        """Consumer lag for the metrics endpoint (read here, so a scrape never waits on the
        broker)."""
        with tracing.quiet():
            try:
                metrics.set_lag(await consumer_lag(app.consumer))
            except Exception as exc:
                log.debug("consumer lag not refreshed: %s", exc)

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def stall_watch() -> None:
        """Published events the audit log still lacks: the worker's stall reading."""
        with tracing.quiet():
            try:
                services = await resources.ready()
                watch.assess(await services.audit.arrears(watch.settle, WINDOW))
            except Exception as exc:
                log.warning("stall watch not refreshed: %s", exc)

    @app.timer(interval=60.0)  # type: ignore[untyped-decorator]
    async def report() -> None:
        for guard in (audit_guard, notify_guard, webhook_guard):
            if guard.counts:
                log.info("agent %s: %s", guard.agent, dict(guard.counts))

    return app


def _consuming(agent: str, message: Any) -> AbstractContextManager[Span]:
    """The agent's span for one message: a child of the relay's producer span, whose context
    the message carries in its headers, so it joins the trace of the request that wrote it."""
    tp = message.message
    return tracing.span(
        f"{agent} process",
        context=tracing.context_from(tracing.headers_to_carrier(message.headers)),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": tp.topic,
            "boardroom.agent": agent,
            "messaging.destination.partition.id": str(tp.partition),
            "messaging.kafka.offset": tp.offset,
        },
    )


def _source(message: Any) -> dict[str, Any]:
    tp = message.message
    return {
        "topic": tp.topic,
        "partition": tp.partition,
        "offset": tp.offset,
        "key": (message.key or b"").decode("utf-8", errors="replace"),
    }
