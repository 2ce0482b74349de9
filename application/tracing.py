"""Tracing helpers on the OpenTelemetry API only (ADR 0028).

Every layer that starts a span or carries a trace uses these; the SDK (exporters, sampling,
the PostgreSQL and Redis instrumentation) is set up once per process by ``realtime.tracing``.
When it is not set up, every call here is a cheap no-op.

A trace crosses process boundaries as W3C Trace Context (``traceparent``/``tracestate``):
captured into the outbox row when an event is written, carried in the Kafka message headers
by the relay, and picked up by the faust agents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.util.types import AttributeValue

tracer = trace.get_tracer("boardroom")

NEW_TRACE = otel_context.Context()
"""Start a span with ``context=NEW_TRACE`` to begin a trace of its own (a Socket.IO event
is a request of its own, not a part of the hours-long connection whose task runs it)."""


@contextmanager
def span(
    name: str,
    *,
    context: otel_context.Context | None = None,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    attributes: dict[str, AttributeValue] | None = None,
    links: list[trace.Link] | None = None,
) -> Iterator[trace.Span]:
    """A span, current for the block. When the sampler drops it, the block runs with the
    client instrumentations (PostgreSQL, Redis) switched off: their spans would be dropped
    too, and building them costs more than the work they describe (ADR 0028, measured)."""
    with tracer.start_as_current_span(
        name, context=context, kind=kind, attributes=attributes, links=links
    ) as current:
        if current.is_recording():
            yield current
        else:
            with quiet():
                yield current


def capture() -> dict[str, str] | None:
    """The current trace context as W3C headers, to store with work done later (the outbox);
    None when nothing is being traced."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier or None


def context_from(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The trace context stored by ``capture`` or received in headers, to start a span in;
    None (the current context) when there is none."""
    return propagate.extract(carrier) if carrier else None


def inject_span(span: trace.Span) -> dict[str, str]:
    """W3C headers naming ``span`` as the parent of whatever receives them."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def headers_to_carrier(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> dict[str, str]:
    """Kafka message headers (a list of pairs or a mapping, as the client gives them) as a
    carrier for ``context_from``."""
    pairs = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return {key: value.decode("latin-1") for key, value in pairs if key in _PROPAGATED}


def carrier_to_headers(carrier: Mapping[str, str]) -> list[tuple[str, bytes]]:
    return [(key, value.encode("latin-1")) for key, value in carrier.items()]


_PROPAGATED = frozenset({"traceparent", "tracestate", "baggage"})


@contextmanager
def quiet() -> Iterator[None]:
    """Record no client spans (PostgreSQL, Redis) in this block unless a span is started
    explicitly inside it: for background loops (outbox polling, presence heartbeats) whose
    queries would otherwise each start a trace of their own every few seconds."""
    with suppress_instrumentation():
        yield


def current_ids() -> tuple[str, str] | None:
    """The current trace and span id in hex, for log lines; None outside a recorded span."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
