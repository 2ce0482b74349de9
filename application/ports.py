"""What the application layer needs from the outside, as protocols (implemented in ``rooms``)."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from domain.models import Notification, ProjectEvent


class EventPublisher(Protocol):
    async def publish(self, event: ProjectEvent) -> None:
        """Deliver a committed event to everyone watching its project, on every instance."""


class RoomMembership(Protocol):
    """The calling connection's rooms; the handler binds it to its socket."""

    async def enter(self, project_id: UUID) -> None: ...

    async def leave(self, project_id: UUID) -> None: ...


class SessionNotifier(Protocol):
    async def ended(self, user_id: UUID, session_id: UUID | None, reason: str) -> None:
        """Tell the sockets of one login (every login with ``None``), on every instance, why,
        then disconnect them."""


class AccessNotifier(Protocol):
    async def revoked(self, user_id: UUID, project_ids: list[UUID], info: dict[str, Any]) -> None:
        """Stop ``user_id``'s live sockets receiving these projects and tell them why."""

    async def changed(self, user_id: UUID, info: dict[str, Any]) -> None:
        """Tell ``user_id``'s live sockets that their access changed (new role, invitation)."""


class NotificationPusher(Protocol):
    async def push(self, notification: Notification) -> None:
        """Deliver a stored notification to its user's live sockets, on every instance."""


class EmailSender(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None:
        """Hand one plain-text message to the mail server; raise if it was not accepted."""


class WebhookSender(Protocol):
    async def post(self, url: str, headers: dict[str, str], body: bytes) -> int:
        """POST ``body``; the HTTP status. Raise ``WebhookRefused`` or an I/O error when no
        answer came (refused address, timeout, connection error)."""


class WebhookRefused(Exception):
    """The sender would not call this URL (for example it resolves to a private address)."""
