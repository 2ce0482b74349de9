"""Integration events: what leaves the server through the outbox to Kafka (docs/events.md).

One envelope for project events (the event log's rows, with their ``seq``) and security events
(logins, refresh-token reuse, membership changes). The model is the contract: producers build
it, consumers validate with it, and the documentation's JSON schema comes from it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from domain.models import ProjectEvent

SYSTEM_CHAIN = UUID(int=0)
"""Audit chain of account-level events that belong to no workspace (logins, logouts)."""


class Topic(StrEnum):
    """Logical topic names; the broker name is ``<prefix>.<topic>`` (streams.topics)."""

    PROJECT_EVENTS = "project-events"
    SECURITY_EVENTS = "security-events"
    DEAD_LETTER = "dead-letter"


class SecurityEventType(StrEnum):
    USER_REGISTERED = "user.registered"
    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    REFRESH_TOKEN_REUSED = "auth.refresh_token_reused"
    LOGGED_OUT = "auth.logged_out"
    PASSWORD_CHANGED = "auth.password_changed"
    MEMBER_INVITED = "member.invited"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_LEFT = "member.left"
    PROJECT_ROLE_SET = "project_member.role_set"
    PROJECT_ROLE_REMOVED = "project_member.role_removed"
    AUDIT_EXPORTED = "audit.exported"
    PROJECT_EXPORTED = "export.project"
    WORKSPACE_EXPORTED = "export.workspace"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_DELETED = "webhook.deleted"


class Origin(BaseModel):
    """Where a request came from, when known. Never a token or a secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transport: Literal["socket.io", "rest", "worker", "cli"] | None = None
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=512)


class IntegrationEvent(BaseModel):
    """The envelope of every message on the project-events and security-events topics."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    kind: Literal["project", "security"]
    type: str = Field(min_length=1, max_length=64)
    at: datetime
    actor_id: UUID | None
    workspace_id: UUID | None
    project_id: UUID | None = None
    seq: int | None = Field(default=None, ge=1)
    op_id: str | None = None
    outcome: Literal["success", "failure"] = "success"
    origin: Origin = Origin()
    correlation_id: str | None = Field(default=None, max_length=128)
    data: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(
        default_factory=dict,
        description="Facts at commit time that consumers need and clients do not see "
        "(``watchers``: the task's watchers when the event happened).",
    )

    @property
    def topic(self) -> Topic:
        return Topic.PROJECT_EVENTS if self.kind == "project" else Topic.SECURITY_EVENTS

    @property
    def key(self) -> str:
        """Partition key: events of one project (or one workspace) stay in order."""
        owner = self.project_id or self.workspace_id or self.actor_id or SYSTEM_CHAIN
        return str(owner)

    @property
    def chain_id(self) -> UUID:
        """The audit chain this event belongs to: its workspace, else the system chain."""
        return self.workspace_id or SYSTEM_CHAIN

    @classmethod
    def for_project_event(
        cls,
        event: ProjectEvent,
        workspace_id: UUID,
        origin: Origin,
        correlation_id: str | None,
        context: dict[str, Any] | None = None,
    ) -> IntegrationEvent:
        return cls(
            event_id=uuid.uuid4(),
            kind="project",
            type=event.type,
            at=event.at,
            actor_id=event.actor_id,
            workspace_id=workspace_id,
            project_id=event.project_id,
            seq=event.seq,
            op_id=event.op_id,
            origin=origin,
            correlation_id=correlation_id,
            data=event.data,
            context=context or {},
        )

    @classmethod
    def security(
        cls,
        event_type: SecurityEventType,
        *,
        actor_id: UUID | None,
        workspace_id: UUID | None,
        origin: Origin,
        correlation_id: str | None,
        data: dict[str, Any],
        outcome: Literal["success", "failure"] = "success",
        project_id: UUID | None = None,
        op_id: str | None = None,
    ) -> IntegrationEvent:
        return cls(
            event_id=uuid.uuid4(),
            kind="security",
            type=event_type.value,
            at=datetime.now(UTC),
            actor_id=actor_id,
            workspace_id=workspace_id,
            project_id=project_id,
            op_id=op_id,
            outcome=outcome,
            origin=origin,
            correlation_id=correlation_id,
            data=data,
        )
