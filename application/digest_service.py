"""E-mail digests of unread notifications, at most one per user per interval (ADR 0021).

Each user's digest is its own transaction: claim the user's slot for this interval, lock the
notifications to include, send, mark them e-mailed, commit. A second worker skips the claimed
user; a failed send rolls back, so the same notifications go out next time. A crash after the
mail server accepted the message and before the commit sends that digest again: at least once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from application.ports import EmailSender
from domain.models import Notification, User
from persistence import digests

log = logging.getLogger(__name__)

OLDEST = timedelta(days=7)  # older unread notifications are not worth an e-mail any more


class DigestService:
    def __init__(
        self, pool: asyncpg.Pool, sender: EmailSender, interval: timedelta, board_url: str
    ) -> None:
        self._pool = pool
        self._sender = sender
        self._interval = interval
        self._board_url = board_url

    async def send_due(self, now: datetime | None = None) -> int:
        """Send every digest that is due; the number sent."""
        now = now or datetime.now(UTC)
        async with self._pool.acquire() as conn:
            waiting = await digests.users_waiting(conn, now, self._interval, OLDEST, limit=200)
        sent = 0
        for user_id in waiting:
            try:
                sent += await self._send_one(user_id, now)
            except Exception:
                log.exception("digest for user %s failed; it will be retried", user_id)
        return sent

    async def _send_one(self, user_id: UUID, now: datetime) -> int:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                if not await digests.claim_user(conn, user_id, now, self._interval):
                    return 0
                pending = await digests.lock_pending(conn, user_id, now, OLDEST)
                user = await digests.recipient(conn, user_id)
                if not pending or user is None:
                    raise _NothingToSend  # rolls the claim back
                subject, body = render_digest(user, pending, self._board_url)
                await self._sender.send(user.email, subject, body)
                await digests.mark_emailed(conn, [n.id for n in pending])
        except _NothingToSend:
            return 0
        return 1


class _NothingToSend(Exception):
    """Another worker took these notifications first; leave the claim as it was."""


def render_digest(user: User, pending: list[Notification], board_url: str) -> tuple[str, str]:
    """Subject and plain-text body; only what the notification rows already show."""
    count = len(pending)
    subject = f"Boardroom: {count} new notification{'s' if count != 1 else ''}"
    lines = [f"Hello {user.display_name},", "", f"You have {count} unread in Boardroom:", ""]
    for n in pending:
        title = n.data.get("task_title") or n.type
        line = f"- {n.reason.replace('_', ' ')}: {title} ({n.created_at:%Y-%m-%d %H:%M} UTC)"
        if n.data.get("comment_excerpt"):
            line += f'\n    "{n.data["comment_excerpt"]}"'
        lines.append(line)
    lines += [
        "",
        f"Open your board: {board_url}",
        "",
        "Turn these e-mails off in your notification preferences.",
    ]
    return subject, "\n".join(lines) + "\n"
