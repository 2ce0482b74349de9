"""The outbox relay: publishes committed integration events to Kafka (ADR 0017).

Exactly one relay publishes at a time (a PostgreSQL advisory lock held by its connection;
every server instance runs one, the others wait as standbys), so rows leave in commit order
and each key's events stay in order on their partition. A batch is published, confirmed by
the broker (acks=all), and only then marked published: a crash in between republishes it,
which consumers absorb by ``event_id``. Nothing is lost at any crash point.

It wakes on the outbox trigger's NOTIFY, polls as a fallback, and prunes published rows
after the retention period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import orjson
from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind, StatusCode

from application import tracing
from domain.integration import Topic
from persistence import outbox
from persistence.db import connect
from streams.failpoints import failpoint
from streams.topics import bootstrap_servers, ensure_topics, tls_options, topic_name

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RelayConfig:
    database_url: str
    kafka_url: str
    topic_prefix: str
    partitions: int
    replication: int = 1
    batch_size: int = 500
    poll_seconds: float = 1.0
    retention: timedelta = timedelta(hours=24)
    prune_every_seconds: float = 600.0


class OutboxRelay:
    def __init__(self, config: RelayConfig) -> None:
        self._config = config
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.published = 0
        self.leader = False

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Relay until stopped, reconnecting after any failure (the database or the broker
        being down only delays publication: the rows wait in the outbox)."""
        backoff = 0.5
        # Polls and lock attempts are not traced; each published batch is (_relay).
        with tracing.quiet():
            while not self._stopping.is_set():
                try:
                    await self._lead_when_possible()
                    backoff = 0.5
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("outbox relay: %s; retrying in %.1f s", exc, backoff)
                    await self._sleep(backoff)
                    backoff = min(backoff * 2, 10.0)

    async def _lead_when_possible(self) -> None:
        conn = await connect(self._config.database_url)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", outbox.RELAY_LOCK_KEY):
                if await self._sleep(2.0):
                    return
            self.leader = True
            log.info("outbox relay: leading (publishing to %s)", self._config.kafka_url)
            await conn.add_listener(outbox.NOTIFY_CHANNEL, self._on_notify)
            await ensure_topics(
                self._config.kafka_url,
                self._config.topic_prefix,
                self._config.partitions,
                self._config.replication,
            )
            producer = AIOKafkaProducer(
                bootstrap_servers=bootstrap_servers(self._config.kafka_url),
                **tls_options(self._config.kafka_url),
                acks="all",
                enable_idempotence=False,  # tansu has no idempotent producer (ADR 0020)
                linger_ms=2,
                request_timeout_ms=10_000,
            )
            await producer.start()
            try:
                await self._relay(conn, producer)
            finally:
                await producer.stop()
        finally:
            self.leader = False
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def _relay(
        self, conn: asyncpg.Connection[asyncpg.Record], producer: AIOKafkaProducer
    ) -> None:
        last_prune = 0.0
        while not self._stopping.is_set():
            self._wake.clear()
            rows = await outbox.pending(conn, self._config.batch_size)
            if rows:
                with tracing.span(
                    "outbox relay",
                    context=tracing.NEW_TRACE,
                    attributes={"boardroom.rows": len(rows)},
                ):
                    await self._publish(producer, rows)
                    failpoint("relay.after_publish")
                    await outbox.mark_published(conn, [row.id for row in rows])
                self.published += len(rows)
                continue
            if time.monotonic() - last_prune > self._config.prune_every_seconds:
                pruned = await outbox.prune(conn, self._config.retention)
                if pruned:
                    log.info("outbox relay: pruned %d published rows", pruned)
                last_prune = time.monotonic()
            await self._sleep(self._config.poll_seconds, wakeable=True)

    async def _publish(self, producer: AIOKafkaProducer, rows: list[outbox.OutboxRow]) -> None:
        """Send the batch and wait until the broker has every message (or raise).

        Each message gets a producer span in the trace of the request that wrote it (its
        outbox row kept the context), and carries that span in its headers for the agents."""
        await self._check_topics(producer, {row.topic for row in rows})
        sent = []
        spans = []
        try:
            for row in rows:
                topic = topic_name(self._config.topic_prefix, Topic(row.topic))
                span = tracing.tracer.start_span(
                    f"publish {topic}",
                    context=tracing.context_from(row.trace_context),
                    kind=SpanKind.PRODUCER,
                    attributes=_message_attributes(topic, row),
                )
                spans.append(span)
                headers = [
                    ("event_id", str(row.event_id).encode()),
                    ("type", str(row.payload.get("type", "")).encode()),
                    *tracing.carrier_to_headers(tracing.inject_span(span)),
                ]
                sent.append(
                    await producer.send(
                        topic,
                        value=orjson.dumps(row.payload),
                        key=row.key.encode(),
                        headers=headers,
                    )
                )
            await asyncio.gather(*sent)
        except Exception as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, type(exc).__name__)
            raise
        finally:
            for span in spans:
                span.end()

    async def _check_topics(self, producer: AIOKafkaProducer, topics: set[str]) -> None:
        """Refuse to send to a topic the broker does not have: sending would let a broker that
        auto-creates topics (tansu, after a restart) make it with its own partition count.
        Raising sends the relay through its reconnect path, which creates the topics first."""
        cluster = await producer.client.fetch_all_metadata()  # asks for no topic: creates none
        names = {topic_name(self._config.topic_prefix, Topic(t)) for t in topics}
        missing = names - set(cluster.topics())
        if missing:
            raise RuntimeError(f"topics missing on the broker: {sorted(missing)}")

    def _on_notify(self, *args: object) -> None:
        self._wake.set()

    async def _sleep(self, seconds: float, wakeable: bool = False) -> bool:
        """Wait ``seconds`` (or less when woken); True once the relay is stopping."""
        event = self._wake if wakeable else self._stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)
        return self._stopping.is_set()


def _message_attributes(topic: str, row: outbox.OutboxRow) -> dict[str, str]:
    """OpenTelemetry messaging semantic conventions for one published event."""
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "send",
        "messaging.destination.name": topic,
        "messaging.message.id": str(row.event_id),
        "messaging.kafka.message.key": row.key,
        "boardroom.event_type": str(row.payload.get("type", "")),
    }
