"""The event pipeline's moving parts: the outbox relay and the faust-streaming worker."""
