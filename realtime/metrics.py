"""Metrics with the OpenTelemetry SDK, exposed for Prometheus at ``/metrics`` (ADR 0027).

One ``Metrics`` per app, with its own Prometheus registry, so nothing is global: RED metrics per
Socket.IO event and REST route, business counters, and gauges read when scraped (connected
sockets, event-loop lag, database pool, outbox backlog).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from prometheus_client import CollectorRegistry, generate_latest, start_http_server

from handlers.observe import HTTP_FACTS, SOCKET_FACTS

log = logging.getLogger(__name__)

# Seconds; the room benchmark's interesting range is 1 ms to 1 s.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Gauge = Callable[[], float | int]


class Metrics:
    """Implements ``handlers.observe.Recorder``."""

    def __init__(self, gauges: dict[str, tuple[str, Gauge]] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._provider = MeterProvider(
            metric_readers=[PrometheusMetricReader(registry=self.registry)],
            views=[
                View(
                    instrument_name="*duration*",
                    aggregation=ExplicitBucketHistogramAggregation(_BUCKETS),
                )
            ],
        )
        meter = self.meter = self._provider.get_meter("boardroom")
        self._events = meter.create_counter(
            "boardroom_socketio_events", description="Socket.IO events handled, by outcome"
        )
        self._event_duration = meter.create_histogram(
            "boardroom_socketio_event_duration", unit="s", description="time to ack an event"
        )
        self._requests = meter.create_counter(
            "boardroom_http_requests", description="REST requests, by route and status"
        )
        self._request_duration = meter.create_histogram(
            "boardroom_http_request_duration", unit="s", description="time to answer"
        )
        self._business = meter.create_counter(
            "boardroom_business_events", description="registrations, logins, tasks created"
        )
        for name, (description, read) in (gauges or {}).items():
            meter.create_observable_gauge(name, callbacks=[_observe(read)], description=description)

    def socket_event(self, event: str, outcome: str, seconds: float) -> None:
        labels = {"event": event, "outcome": outcome}
        self._events.add(1, labels)
        self._event_duration.record(seconds, {"event": event})
        fact = SOCKET_FACTS.get((event, outcome))
        if fact:
            self.business(fact)

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._requests.add(1, {"route": route, "method": method, "status": str(status)})
        self._request_duration.record(seconds, {"route": route, "method": method})
        fact = HTTP_FACTS.get((route, status))
        if fact:
            self.business(fact)

    def business(self, kind: str) -> None:
        self._business.add(1, {"kind": kind})

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))

    def serve(self, host: str, port: int) -> None:
        """Expose ``/metrics`` from a thread of its own (for processes with no web server,
        such as the worker). A port that cannot be bound is logged, not fatal: the process
        still does its work without being observed."""
        try:
            start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            log.error("metrics endpoint not started on %s:%d: %s", host, port, exc)
            return
        log.info("metrics at http://%s:%d/metrics", host, port)

    def shutdown(self) -> None:
        self._provider.shutdown()


def _observe(read: Gauge) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(read())]

    return callback
