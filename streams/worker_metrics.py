"""The worker's metrics (ADR 0027): messages per agent and outcome, processing time,
consumer lag per partition, and the stall watch's readings (ADR 0039).

Written against the OpenTelemetry metrics API only; ``boardroom worker`` gives it a meter of
the SDK that a Prometheus endpoint reads (realtime.metrics). Without one, every call is a
no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, NoOpMeter, Observation

from streams.audit_watch import STALLED_GAUGE, AuditWatch

log = logging.getLogger(__name__)


class WorkerMetrics:
    def __init__(self, watch: AuditWatch, meter: Meter | None = None) -> None:
        meter = meter or NoOpMeter("boardroom-worker")
        self._messages = meter.create_counter(
            "boardroom_agent_messages",
            description="messages handled per agent: processed, transient_retries, dead_lettered",
        )
        self._duration = meter.create_histogram(
            "boardroom_agent_process_duration",
            unit="s",
            description="time an agent took for one message, retries included",
        )
        self._lag: dict[tuple[str, int], int] = {}
        meter.create_observable_gauge(
            "boardroom_consumer_lag",
            callbacks=[self._observe_lag],
            description="messages on the broker this worker has not fetched yet, per partition",
        )
        for name, read, description in (
            (
                "boardroom_audit_unrecorded_events",
                lambda: watch.arrears.count,
                "events published between BOARDROOM_WORKER_STALL_SECONDS and 15 min ago that "
                "the audit log lacks",
            ),
            (
                "boardroom_audit_unrecorded_oldest_seconds",
                lambda: watch.arrears.oldest_seconds,
                "time since the oldest of those events was published",
            ),
            (
                STALLED_GAUGE,
                lambda: int(watch.stalled),
                "1 while this worker's audit agent makes no progress on published events",
            ),
        ):
            meter.create_observable_gauge(name, callbacks=[_reading(read)], description=description)

    def outcome(self, agent: str, outcome: str) -> None:
        self._messages.add(1, {"agent": agent, "outcome": outcome})

    def processed(self, agent: str, seconds: float) -> None:
        self._duration.record(seconds, {"agent": agent})

    def set_lag(self, lag: Mapping[tuple[str, int], int]) -> None:
        """The lag per (topic, partition) that scrapes report until the next call."""
        self._lag = dict(lag)

    def _observe_lag(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(value, {"topic": topic, "partition": str(partition)})
            for (topic, partition), value in self._lag.items()
        ]


def _reading(read: Callable[[], float]) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(read())]

    return callback


async def consumer_lag(consumer: Any) -> dict[tuple[str, int], int]:
    """The lag of the partitions assigned to a faust consumer: the broker's end offset minus
    the consumer's position. (tansu, the development broker, reports end offsets too low
    after batched produces, so there the lag reads low; MSK reports them exactly.)"""
    partitions = consumer.assignment()
    if not partitions:
        return {}
    ends = await consumer.highwaters(*partitions)
    lag = {}
    for tp in partitions:
        position = await consumer.position(tp)
        end = ends.get(tp)
        if position is not None and end is not None:
            lag[(tp.topic, tp.partition)] = max(0, end - position)
    return lag
