"""The OpenTelemetry tracing SDK, set up once per process (ADR 0028).

``BOARDROOM_TRACES_EXPORTER`` chooses where spans go: ``none`` (the default: no SDK, every
span a no-op, no instrumentation installed), ``console`` (one JSON span per line on stdout,
for a developer) or ``otlp`` (OTLP over HTTP to the collector named by the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``; in AWS, an ADOT collector sidecar). Sampling follows the standard
``OTEL_TRACES_SAMPLER``/``OTEL_TRACES_SAMPLER_ARG``, parent-based so a trace that started in
the server is kept or dropped as a whole in the relay and the worker.

PostgreSQL (asyncpg) and Redis calls are traced by the OpenTelemetry contrib
instrumentations; Socket.IO events, REST requests, the outbox relay and the faust agents
start their own spans (application.tracing).
"""

from __future__ import annotations

import logging
import os
from typing import Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

log = logging.getLogger(__name__)

Exporter = Literal["none", "console", "otlp"]


def configure_tracing(exporter: Exporter, service: str) -> TracerProvider | None:
    """Install the global tracer provider and the client instrumentations; None when
    ``exporter`` is ``none``. ``OTEL_SERVICE_NAME`` overrides ``service``."""
    if exporter == "none":
        return None
    resource = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(_processor(exporter))
    trace.set_tracer_provider(provider)
    _instrument_clients(provider)
    log.info("tracing: exporting spans of %s to %s", resource.attributes[SERVICE_NAME], exporter)
    return provider


def _processor(exporter: Exporter) -> SimpleSpanProcessor | BatchSpanProcessor:
    if exporter == "console":
        return SimpleSpanProcessor(ConsoleSpanExporter(formatter=_one_line))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    otlp: SpanExporter = OTLPSpanExporter()  # endpoint, headers, timeout: OTEL_EXPORTER_OTLP_*
    return BatchSpanProcessor(otlp)


def _one_line(span: ReadableSpan) -> str:
    return str(span.to_json(indent=None)) + "\n"


def _instrument_clients(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # SQL text is recorded (it is ours, with $n placeholders); parameter values never are.
    AsyncPGInstrumentor(capture_parameters=False).instrument(  # type: ignore[no-untyped-call]
        tracer_provider=provider
    )
    RedisInstrumentor().instrument(tracer_provider=provider)
