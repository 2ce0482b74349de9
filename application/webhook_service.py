"""Outgoing webhooks per project: managed by project managers, delivered by the worker with
HMAC signatures, retries with backoff and a dead-letter status after the last try (ADR 0021).

Deliveries are durable rows: the ``webhooks`` agent enqueues one per matching webhook and event
(idempotent per webhook and event id), and ``dispatch_due`` leases due rows, posts them and
records each try in the delivery log that managers read.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import orjson

from application import integration_events
from application.access import project_access
from application.outcomes import Outcome, claim_op, record_outcome
from application.ports import WebhookRefused, WebhookSender
from domain import commands as c
from domain import webhooks as rules
from domain.errors import InvalidPayload, NotFound
from domain.integration import IntegrationEvent, SecurityEventType
from domain.permissions import Action
from persistence import webhooks

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 6
    retry_base_seconds: float = 2.0
    lease: timedelta = timedelta(seconds=60)
    batch: int = 50
    per_webhook: int = 5  # of one batch: one failing endpoint cannot hold back the others


class WebhookService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        allow_private: bool = False,
        sender: WebhookSender | None = None,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self._pool = pool
        self._allow_private = allow_private
        self._sender = sender
        self._policy = policy or DeliveryPolicy()

    # --- managing webhooks (Socket.IO, project managers) ----------------------------------

    async def create(self, user_id: UUID, cmd: c.CreateWebhook) -> Outcome:
        url = self._checked_url(cmd.url)
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            access, _ = await project_access(conn, cmd.project_id, user_id, Action.WEBHOOK_MANAGE)
            if await webhooks.count_active(conn, cmd.project_id) >= c.MAX_WEBHOOKS_PER_PROJECT:
                raise InvalidPayload(
                    f"A project has at most {c.MAX_WEBHOOKS_PER_PROJECT} webhooks.",
                    [{"field": "project_id", "message": "too many webhooks", "type": "too_many"}],
                )
            secret = secrets.token_urlsafe(32)
            hook = await webhooks.insert(
                conn, uuid.uuid4(), cmd.project_id, url, secret, cmd.event_types, user_id
            )
            await integration_events.security_event(
                conn,
                SecurityEventType.WEBHOOK_CREATED,
                actor_id=user_id,
                workspace_id=access.project.workspace_id,
                project_id=cmd.project_id,
                op_id=cmd.op_id,
                data={"webhook_id": str(hook.id), "url": url, "event_types": cmd.event_types},
            )
            # The secret is in the answer once (and in the stored answer, for a retried op).
            outcome = Outcome(hook.as_dict() | {"secret": secret})
            await record_outcome(conn, user_id, cmd, outcome)
        return outcome

    async def delete(self, user_id: UUID, cmd: c.DeleteWebhook) -> Outcome:
        async with self._pool.acquire() as conn, conn.transaction():
            replay = await claim_op(conn, user_id, cmd)
            if replay is not None:
                return replay
            access, _ = await project_access(conn, cmd.project_id, user_id, Action.WEBHOOK_MANAGE)
            if not await webhooks.deactivate(conn, cmd.webhook_id, cmd.project_id):
                raise _no_webhook(cmd.webhook_id)
            await integration_events.security_event(
                conn,
                SecurityEventType.WEBHOOK_DELETED,
                actor_id=user_id,
                workspace_id=access.project.workspace_id,
                project_id=cmd.project_id,
                op_id=cmd.op_id,
                data={"webhook_id": str(cmd.webhook_id)},
            )
            outcome = Outcome({"webhook_id": str(cmd.webhook_id)})
            await record_outcome(conn, user_id, cmd, outcome)
        return outcome

    async def list(self, user_id: UUID, cmd: c.ListWebhooks) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            await project_access(conn, cmd.project_id, user_id, Action.WEBHOOK_MANAGE)
            found = await webhooks.list_active(conn, cmd.project_id)
        return {"webhooks": [hook.as_dict() for hook in found]}

    async def deliveries(self, user_id: UUID, cmd: c.WebhookDeliveries) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            await project_access(conn, cmd.project_id, user_id, Action.WEBHOOK_MANAGE)
            if not await webhooks.exists(conn, cmd.webhook_id, cmd.project_id):
                raise _no_webhook(cmd.webhook_id)
            found = await webhooks.log(
                conn, cmd.webhook_id, cmd.before or datetime.now(UTC), cmd.limit
            )
        return {"deliveries": [entry.as_dict() for entry in found]}

    def _checked_url(self, url: str) -> str:
        parts = urlsplit(url)
        problem = None
        if parts.scheme not in ("https", "http") or not parts.hostname:
            problem = "must be an http(s) URL with a host"
        elif parts.username or parts.password:
            problem = "must not carry credentials (the signature authenticates us)"
        elif not self._allow_private and (
            parts.scheme != "https" or rules.host_is_internal(parts.hostname)
        ):
            problem = "must be https and must not name an internal address"
        if problem:
            raise InvalidPayload(
                f"The webhook URL {problem}.",
                [{"field": "url", "message": problem, "type": "url_refused"}],
            )
        return url

    # --- delivering (the worker) ----------------------------------------------------------

    async def enqueue(self, event: IntegrationEvent) -> None:
        """A pending delivery of ``event`` for each matching webhook of its project."""
        if event.kind != "project" or event.project_id is None:
            return
        payload = event.model_dump(mode="json", include=_PUBLIC_FIELDS)
        async with self._pool.acquire() as conn:
            await webhooks.enqueue(
                conn, event.project_id, event.event_id, event.type, payload, event.at
            )

    async def dispatch_due(self) -> int:
        """Post every due delivery once; the number of tries made."""
        assert self._sender is not None, "dispatching needs a sender"
        async with self._pool.acquire() as conn:
            due = await webhooks.lease_due(
                conn, self._policy.batch, self._policy.lease, self._policy.per_webhook
            )
        await asyncio.gather(*(self._try(delivery) for delivery in due))
        return len(due)

    async def _try(self, delivery: webhooks.LeasedDelivery) -> None:
        assert self._sender is not None
        body = orjson.dumps(delivery.payload)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Boardroom-Webhooks/1",
            rules.EVENT_HEADER: delivery.event_type,
            rules.DELIVERY_HEADER: str(delivery.id),
            rules.TIMESTAMP_HEADER: str(timestamp),
            rules.SIGNATURE_HEADER: rules.sign(delivery.secret, timestamp, body),
        }
        status: int | None = None
        try:
            status = await self._sender.post(delivery.url, headers, body)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except WebhookRefused as exc:
            error = f"refused: {exc}"
        except (OSError, TimeoutError) as exc:
            error = str(exc) or "could not connect"
        async with self._pool.acquire() as conn:
            if error is None:
                assert status is not None
                await webhooks.mark_delivered(conn, delivery.id, status)
                return
            retry_in = rules.retry_delay(delivery.attempts + 1, self._policy.retry_base_seconds)
            state = await webhooks.mark_failed(
                conn,
                delivery.id,
                status,
                error,
                self._policy.max_attempts,
                timedelta(seconds=retry_in),
            )
        if state == "dead_lettered":
            log.error(
                "webhook delivery %s dead-lettered after %d tries: %s",
                delivery.id,
                delivery.attempts + 1,
                error,
            )


_PUBLIC_FIELDS = {"event_id", "type", "at", "actor_id", "workspace_id", "project_id", "seq", "data"}


def _no_webhook(webhook_id: UUID) -> NotFound:
    return NotFound(
        f"No webhook {webhook_id} in this project.", {"field": "webhook_id", "id": str(webhook_id)}
    )
