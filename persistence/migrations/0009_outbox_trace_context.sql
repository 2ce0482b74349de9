-- Tracing (ADR 0028): the W3C trace context (traceparent, tracestate) of the request that
-- wrote the event, so the relay can carry it in the Kafka message headers and one trace runs
-- from the client's event to the audit row and the notification. NULL when nothing was traced.
ALTER TABLE outbox ADD COLUMN trace_context jsonb;
