"""Authorization against the permission table, for every service (ADR 0011).

What the caller may not see answers ``not_found`` (existence is not leaked across tenants or to
guests); what they may see but not change answers ``forbidden``.
"""

from __future__ import annotations

from uuid import UUID

from domain.errors import NotFound
from domain.mentions import mentioned_ids
from domain.models import Project
from domain.permissions import Action, ProjectRole, WorkspaceRole, effective_project_role, require
from persistence import projects, workspaces
from persistence.db import Connection
from persistence.projects import Access


def missing(kind: str, ident: UUID, field: str) -> NotFound:
    """``not_found`` for an id of the caller's project that names no such thing."""
    return NotFound(f"No {kind} {ident} in this project.", {"field": field, "id": str(ident)})


async def visible_projects(
    conn: Connection, workspace_id: UUID, user_id: UUID, role: WorkspaceRole
) -> list[Project]:
    """The workspace's projects the caller may see: all of them, or for a guest only those
    holding an explicit role (``effective_project_role``)."""
    if role is WorkspaceRole.GUEST:
        return await projects.list_with_explicit_role(conn, workspace_id, user_id)
    return await projects.list_in_workspace(conn, workspace_id)


def _no_project(project_id: UUID) -> NotFound:
    return NotFound(f"No project {project_id}.", {"field": "project_id", "id": str(project_id)})


async def project_access(
    conn: Connection, project_id: UUID, user_id: UUID, action: Action
) -> tuple[Access, ProjectRole]:
    """The project as the caller sees it and their effective role, once ``action`` is allowed."""
    found = await projects.access(conn, project_id, user_id)
    role = effective_project_role(found.workspace_role, found.project_role) if found else None
    if found is None or role is None:
        raise _no_project(project_id)
    require(role, action)
    return found, role


async def readers(conn: Connection, project: Project, user_ids: list[UUID]) -> list[UUID]:
    """Those of ``user_ids`` who can see ``project`` (in the order given)."""
    if not user_ids:
        return []
    roles = await projects.roles_in(conn, project.id, user_ids)
    return [u for u in user_ids if u in roles and effective_project_role(*roles[u]) is not None]


async def readable_mentions(conn: Connection, project: Project, text: str) -> list[str]:
    """The @mentions in ``text`` of people who can see the project (others stay plain text)."""
    return [str(u) for u in await readers(conn, project, mentioned_ids(text))]


async def workspace_access(
    conn: Connection, workspace_id: UUID, user_id: UUID, action: Action
) -> WorkspaceRole:
    """The caller's workspace role, once ``action`` is allowed."""
    role = await workspaces.role_of(conn, workspace_id, user_id)
    if role is None:
        raise NotFound(
            f"No workspace {workspace_id}.", {"field": "workspace_id", "id": str(workspace_id)}
        )
    require(role, action)
    return role
