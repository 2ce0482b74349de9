"""Commands: what a client asks for, validated with limits before anything else happens.

Commands are imperative (``CreateTask``); the events they produce are past tense
(``task.created``). Every limit that protects the server lives here, next to the field it
limits, so the protocol document and the validation cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from domain.permissions import ProjectRole, WorkspaceRole

NAME_MAX = 100
TITLE_MAX = 500
DESCRIPTION_MAX = 20_000
PASSWORD_MIN = 10
PASSWORD_MAX = 256

OpId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX)]
Password = Annotated[str, StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]
InvitableRole = Literal["admin", "member", "guest"]
RefreshTokenText = Annotated[str, StringConstraints(min_length=16, max_length=200)]


class Command(BaseModel):
    """Base: unknown fields are refused rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Mutation(Command):
    """A command that changes state carries the client-generated ``op_id`` it is known by."""

    op_id: OpId


# --- accounts -------------------------------------------------------------------------------


class Register(Command):
    email: EmailStr = Field(max_length=254)
    password: Password
    display_name: Name


class Login(Command):
    email: EmailStr = Field(max_length=254)
    password: Annotated[str, StringConstraints(min_length=1, max_length=PASSWORD_MAX)]


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
    int, Field(ge=1, description="The entity version this change was based on (conflicts).")
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

    def changes(self) -> dict[str, str]:
        """The fields this update sets (omitted or null fields stay as they are)."""
        return {
            name: value
            for name, value in (("title", self.title), ("description", self.description))
            if value is not None
        }


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
