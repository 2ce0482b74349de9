"""What the handlers report for metrics (implemented with OpenTelemetry in realtime.metrics).

A protocol, so handlers stay free of the metrics SDK and tests can use the real one.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web


class Recorder(Protocol):
    def socket_event(self, event: str, outcome: str, seconds: float) -> None:
        """One handled Socket.IO event: its name, ``ok`` or the error code, its duration."""

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One REST request: the route template (never the raw path), method, status."""

    def business(self, kind: str) -> None:
        """A business fact: ``registration``, ``login_success``, ``login_failure``,
        ``task_created``."""


class NullRecorder:
    def socket_event(self, event: str, outcome: str, seconds: float) -> None:
        pass

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        pass

    def business(self, kind: str) -> None:
        pass


RECORDER: web.AppKey[Recorder] = web.AppKey("recorder", object)  # type: ignore[arg-type]

# Business facts recognized from handled events and requests (route or event, outcome).
SOCKET_FACTS = {("task:create", "ok"): "task_created"}
HTTP_FACTS = {
    ("/api/v1/auth/register", 201): "registration",
    ("/api/v1/auth/login", 200): "login_success",
    ("/api/v1/auth/login", 401): "login_failure",
}
