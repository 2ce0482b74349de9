"""Commands: what a client asks for, validated with limits before anything else happens.

Commands are imperative (``CreateTask``); the events they produce are past tense
(``task.created``). Every limit that protects the server lives here, next to the field it
limits, so the protocol document and the validation cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import email_validator
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from domain.events import EventType
from domain.passwords import password_weakness
from domain.permissions import ProjectRole, WorkspaceRole

# E-mail addresses are checked for syntax (RFC 5322/6531), as the API documents them
# (`format: email`). email-validator also refuses special-use domains (.local, .test,
# .invalid...); companies run mail on .local, nothing is sent to verify an address anyway, and
# the contract would otherwise refuse what it documents as valid. Its README documents this
# list as the place to change that.
email_validator.SPECIAL_USE_DOMAIN_NAMES.clear()

# The database's integer sizes: a number beyond them is refused here, never at PostgreSQL.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Instants are kept to the years 1970-9998 as written: far from the calendar's ends, where the
# conversion to UTC overflows or asyncpg turns the value into 'infinity' (which comes back
# without an offset). The rule is on the year as sent, so the API documents can state it.
FIRST_YEAR, LAST_YEAR = 1970, 9998
YEAR_PATTERN = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-"


def _within_range(value: datetime) -> datetime:
    """``value`` in UTC, or a ValueError saying the range (never an overflow later)."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return value.astimezone(UTC)


Instant = Annotated[
    AwareDatetime,
    AfterValidator(_within_range),
    WithJsonSchema(
        {"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}, mode="validation"
    ),
]
NAME_MAX = 100
TITLE_MAX = 500
DESCRIPTION_MAX = 20_000
PASSWORD_MIN = 10
PASSWORD_MAX = 256

OpId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
Password = Annotated[
    str,
    StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX),
    Field(
        description="Not easy to guess: common or breached passwords, repeats, sequences, "
        "keyboard walks and the account's own address are refused (domain/passwords.py)."
    ),
]
InvitableRole = Literal["admin", "member", "guest"]
RefreshTokenText = Annotated[str, StringConstraints(min_length=16, max_length=200)]


class Command(BaseModel):
    """Base: unknown fields are refused rather than silently ignored, and no text may hold a
    NUL character (PostgreSQL cannot store one: it would fail at the database, not here)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value


NO_NUL_PATTERN = "^[^\\u0000]*$"


class CommandJsonSchema(GenerateJsonSchema):
    """JSON Schema of the commands as the API documents publish them: every string that has
    no pattern of its own says it cannot hold a NUL character, as ``Command`` enforces."""

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        json_schema.setdefault("pattern", NO_NUL_PATTERN)
        return json_schema


def _holds_nul(value: Any) -> bool:
    """Any string in ``value`` holds NUL (walked without recursion: nesting is bounded at
    decoding, but this must not depend on it)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


MAX_NESTING = 32
"""Deepest nesting of arrays and objects a payload may have (no command needs more than 4)."""


def too_deep(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether ``value`` nests arrays and objects deeper than ``limit`` (walked without
    recursion, so a hostile payload cannot exhaust the interpreter's stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


class Mutation(Command):
    """A command that changes state carries the client-generated ``op_id`` it is known by."""

    op_id: OpId


# --- accounts -------------------------------------------------------------------------------


class Register(Command):
    email: EmailStr = Field(max_length=254)
    password: Password
    display_name: Name

    @field_validator("password")
    @classmethod
    def _not_guessable(cls, value: str, info: ValidationInfo) -> str:
        email = str(info.data.get("email") or "")
        weakness = password_weakness(value, [email, email.split("@")[0]])
        if weakness:
            raise ValueError(weakness)
        return value


class Login(Command):
    email: EmailStr = Field(max_length=254)
    password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
    device_token: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="The device_token of an earlier login on this device."
    )


class RenewSession(Command):
    access_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ChangePassword(Command):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]
    new_password: Password

    @field_validator("new_password")
    @classmethod
    def _not_guessable(cls, value: str) -> str:
        weakness = password_weakness(value)
        if weakness:
            raise ValueError(weakness)
        return value


class Refresh(Command):
    refresh_token: RefreshTokenText


class Logout(Command):
    refresh_token: RefreshTokenText


# --- workspaces and projects ----------------------------------------------------------------


class CreateWorkspace(Mutation):
    name: Name


class ListWorkspaces(Command):
    pass


class CreateProject(Mutation):
    workspace_id: UUID
    name: Name


class ListProjects(Command):
    workspace_id: UUID


class JoinProject(Command):
    project_id: UUID
    since_seq: int | None = Field(
        default=None,
        ge=0,
        le=INT64_MAX,
        description="The last seq this client applied: answered with the missed events when "
        "they are within the replay window, else with a fresh snapshot (mode reset).",
    )


class SetPresence(Command):
    """What this connection is doing in a project it joined: editing a task, or nothing."""

    project_id: UUID
    editing_task_id: UUID | None = None


class LeaveProject(Command):
    project_id: UUID


# --- columns --------------------------------------------------------------------------------


class ProjectMutation(Mutation):
    """Every board mutation names its project, so it is authorized before anything is read."""

    project_id: UUID


class CreateColumn(ProjectMutation):
    name: Name
    after_id: UUID | None = Field(
        default=None, description="Column to place the new one after; null appends at the end."
    )


BaseVersion = Annotated[
    int,
    Field(
        ge=1,
        le=INT32_MAX,
        description="The entity version this change was based on (conflicts).",
    ),
]


class RenameColumn(ProjectMutation):
    column_id: UUID
    base_version: BaseVersion
    name: Name


class MoveColumn(ProjectMutation):
    column_id: UUID
    after_id: UUID | None = Field(description="Column it goes after; null puts it first.")


class DeleteColumn(ProjectMutation):
    column_id: UUID


# --- tasks ----------------------------------------------------------------------------------


class CreateTask(ProjectMutation):
    column_id: UUID
    title: Title
    description: Description = ""
    after_id: UUID | None = Field(
        default=None, description="Task to place the new one after; null appends at the end."
    )


class UpdateTask(ProjectMutation):
    task_id: UUID
    base_version: BaseVersion
    title: Title | None = None
    description: Description | None = None
    due_at: Instant | None = Field(
        default=None, description="UTC due date; send null to clear it, omit to keep it."
    )

    def changes(self) -> dict[str, Any]:
        """The fields this update sets. Omitted fields stay; title and description cannot be
        null, while ``due_at: null`` clears the due date."""
        found: dict[str, Any] = {
            name: value
            for name, value in (("title", self.title), ("description", self.description))
            if value is not None
        }
        if "due_at" in self.model_fields_set:
            found["due_at"] = self.due_at.astimezone(UTC) if self.due_at else None
        return found


class MoveTask(ProjectMutation):
    task_id: UUID
    column_id: UUID
    after_id: UUID | None = Field(description="Task it goes after; null puts it first.")


class DeleteTask(ProjectMutation):
    task_id: UUID


# --- membership -----------------------------------------------------------------------------


class ListMembers(Command):
    workspace_id: UUID


class InviteMember(Mutation):
    """Invite by e-mail. An existing account joins at once; otherwise the invitation waits
    and is accepted when that address registers or logs in."""

    workspace_id: UUID
    email: EmailStr = Field(max_length=254)
    role: InvitableRole
    project_id: UUID | None = None
    project_role: ProjectRole | None = None

    @model_validator(mode="after")
    def _project_pair(self) -> InviteMember:
        if (self.project_id is None) != (self.project_role is None):
            raise ValueError("project_id and project_role go together")
        return self


class SetMemberRole(Mutation):
    workspace_id: UUID
    user_id: UUID
    role: WorkspaceRole


class RemoveMember(Mutation):
    workspace_id: UUID
    user_id: UUID


class LeaveWorkspace(Mutation):
    workspace_id: UUID


class SetProjectRole(ProjectMutation):
    user_id: UUID
    role: ProjectRole


class RemoveProjectRole(ProjectMutation):
    user_id: UUID


# --- task details ---------------------------------------------------------------------------

LABEL_NAME_MAX = 50
CHECKLIST_TEXT_MAX = 500
COMMENT_MAX = 10_000
SEARCH_QUERY_MAX = 200
MAX_ASSIGNEES = 20
MAX_LABELS_PER_PROJECT = 100
MAX_LABELS_PER_TASK = 20
MAX_CHECKLIST_ITEMS = 100

LabelName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_NAME_MAX)
]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9a-f]{6}$")]
ChecklistText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=CHECKLIST_TEXT_MAX)
]
CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=COMMENT_MAX)
]


class TaskMutation(ProjectMutation):
    task_id: UUID


class ArchiveTask(TaskMutation):
    pass


class RestoreTask(TaskMutation):
    pass


class ArchiveColumn(ProjectMutation):
    column_id: UUID


class RestoreColumn(ProjectMutation):
    column_id: UUID


class AssignTask(TaskMutation):
    user_id: UUID


class UnassignTask(TaskMutation):
    user_id: UUID


class WatchTask(TaskMutation):
    pass


class UnwatchTask(TaskMutation):
    pass


class CreateLabel(ProjectMutation):
    name: LabelName
    color: Color


class UpdateLabel(ProjectMutation):
    label_id: UUID
    name: LabelName | None = None
    color: Color | None = None


class DeleteLabel(ProjectMutation):
    label_id: UUID


class LabelTask(TaskMutation):
    label_id: UUID


class UnlabelTask(TaskMutation):
    label_id: UUID


class AddChecklistItem(TaskMutation):
    text: ChecklistText
    after_id: UUID | None = Field(default=None, description="Item it follows; absent appends.")


class ToggleChecklistItem(ProjectMutation):
    item_id: UUID
    done: bool


class MoveChecklistItem(ProjectMutation):
    item_id: UUID
    after_id: UUID | None = Field(description="Item it goes after; null puts it first.")


class DeleteChecklistItem(ProjectMutation):
    item_id: UUID


class CreateComment(TaskMutation):
    body: CommentBody


class EditComment(ProjectMutation):
    comment_id: UUID
    body: CommentBody


class DeleteComment(ProjectMutation):
    comment_id: UUID


class GetTask(Command):
    project_id: UUID
    task_id: UUID


class ProjectHistory(Command):
    project_id: UUID
    before_seq: int | None = Field(
        default=None, ge=1, le=INT64_MAX, description="Page before this seq."
    )
    limit: int = Field(default=50, ge=1, le=100)


class TaskHistory(ProjectHistory):
    task_id: UUID


class Search(Command):
    workspace_id: UUID
    project_id: UUID | None = None
    q: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SEARCH_QUERY_MAX)
    ]
    limit: int = Field(default=20, ge=1, le=50)


# --- notifications (docs/protocol.md, "Notifications") -------------------------------------

MAX_MUTED_PROJECTS = 500
MAX_MARK_READ = 200


class ListNotifications(Command):
    before: Instant | None = Field(
        default=None, description="Page: notifications created before this instant."
    )
    limit: int = Field(default=50, ge=1, le=100)
    unread_only: bool = False


class MarkNotificationsRead(Command):
    """Mark some notifications read, or all of them with ``all: true``. Idempotent by nature
    (read stays read), so no ``op_id``."""

    ids: list[UUID] = Field(default_factory=list, max_length=MAX_MARK_READ)
    all: bool = False

    @model_validator(mode="after")
    def _ids_or_all(self) -> MarkNotificationsRead:
        if not self.ids and not self.all:
            raise ValueError("give the ids to mark read, or all: true")
        return self


class GetNotificationPreferences(Command):
    pass


class SetNotificationPreferences(Command):
    """Replace the caller's preferences; a field left out keeps its value."""

    email_enabled: bool | None = None
    muted_projects: list[UUID] | None = Field(default=None, max_length=MAX_MUTED_PROJECTS)


# --- audit trail (REST, owners and admins) ----------------------------------------------------

AUDIT_PAGE_MAX = 200


class AuditQuery(Command):
    """Filters of the audit trail; every field arrives as a query parameter."""

    workspace_id: UUID
    actor_id: UUID | None = None
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    since: Instant | None = Field(default=None, description="occurred at or after")
    until: Instant | None = Field(default=None, description="occurred before")
    before_seq: int | None = Field(
        default=None, ge=1, le=INT64_MAX, description="Page: entries below this."
    )
    limit: int = Field(default=50, ge=1, le=AUDIT_PAGE_MAX)


class AuditExport(AuditQuery):
    format: Literal["json", "csv"] = "json"


# --- outgoing webhooks (project managers) ------------------------------------------------------

MAX_WEBHOOKS_PER_PROJECT = 10
WebhookUrl = Annotated[str, StringConstraints(min_length=8, max_length=2000)]


class CreateWebhook(ProjectMutation):
    url: WebhookUrl
    event_types: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50, description="Empty: every event type."
    )

    @model_validator(mode="after")
    def _known_types(self) -> CreateWebhook:
        unknown = sorted(set(self.event_types) - {t.value for t in EventType})
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        return self


class DeleteWebhook(ProjectMutation):
    webhook_id: UUID


class ListWebhooks(Command):
    project_id: UUID


class WebhookDeliveries(Command):
    project_id: UUID
    webhook_id: UUID
    before: Instant | None = None
    limit: int = Field(default=50, ge=1, le=100)


# --- bulk export (REST) -----------------------------------------------------------------------


class ExportProject(Command):
    project_id: UUID
    format: Literal["json", "csv"] = "json"


class ExportWorkspace(Command):
    workspace_id: UUID
    format: Literal["json", "csv"] = "json"
