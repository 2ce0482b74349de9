"""Accepting pending invitations when their e-mail address registers or logs in."""

from __future__ import annotations

from domain.models import User
from domain.permissions import ProjectRole, WorkspaceRole
from persistence import invitations, members, projects
from persistence.db import Connection


async def accept_pending(conn: Connection, user: User) -> list[str]:
    """Join every workspace (and project) this address was invited to; return workspace ids.

    Runs inside the caller's transaction (registration or login), so an account never exists
    half-joined.
    """
    joined = []
    for invitation in await invitations.lock_pending_for_email(conn, user.email):
        await members.add(conn, invitation.workspace_id, user.id, WorkspaceRole(invitation.role))
        if invitation.project_id is not None and invitation.project_role is not None:
            await projects.set_member_role(
                conn, invitation.project_id, user.id, ProjectRole(invitation.project_role)
            )
        await invitations.mark_accepted(conn, invitation.id, user.id)
        joined.append(str(invitation.workspace_id))
    return joined
