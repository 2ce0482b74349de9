"""One error hierarchy for every layer.

Each error carries a machine-readable ``code`` from the wire contract (docs/protocol.md), a human
message and optional ``details``. ``handlers.errors`` translates these exactly once each: to a
Socket.IO ack (``error_ack``) and to an HTTP response (``error_response``).
"""

from __future__ import annotations

from typing import Any, ClassVar


class BoardroomError(Exception):
    """Base of every error that a client may see."""

    code: ClassVar[str] = "internal"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The ``error`` object of the wire contract."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return error


class InvalidPayload(BoardroomError):
    """The request does not match its schema; ``details`` lists each offending field."""

    code = "invalid_payload"


class Unauthorized(BoardroomError):
    """Missing, expired or forged credentials."""

    code = "unauthorized"


class Forbidden(BoardroomError):
    """The caller is known and may see the resource, but may not do this to it."""

    code = "forbidden"


class NotFound(BoardroomError):
    """No such resource, or one the caller may not know exists (tenant isolation)."""

    code = "not_found"


class Conflict(BoardroomError):
    """The change collides with the current state; ``details`` carry that state."""

    code = "conflict"


class PayloadTooLarge(BoardroomError):
    code = "payload_too_large"


class RateLimited(BoardroomError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(BoardroomError):
    """A dependency (database, cache) cannot serve the request right now; retry later."""

    code = "unavailable"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, {"retry_after": retry_after})
        self.retry_after = retry_after


class InternalError(BoardroomError):
    code = "internal"
