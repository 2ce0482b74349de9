"""Who may do what, written as data.

Today the rule is the one the core loop needs: any member of a workspace may read and change its
projects, and only owners and admins may manage the workspace itself. The full role model
(workspace owner/admin/member/guest x project manager/editor/commenter/viewer) replaces the table,
not the callers: the application layer asks ``require(role, action)`` and nothing else.
"""

from __future__ import annotations

from enum import StrEnum

from domain.errors import Forbidden


class WorkspaceRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"


class Action(StrEnum):
    PROJECT_CREATE = "project.create"
    PROJECT_LIST = "project.list"
    PROJECT_READ = "project.read"
    COLUMN_WRITE = "column.write"
    TASK_WRITE = "task.write"


_EVERY_MEMBER = frozenset({WorkspaceRole.OWNER, WorkspaceRole.ADMIN, WorkspaceRole.MEMBER})

PERMISSIONS: dict[Action, frozenset[WorkspaceRole]] = {
    Action.PROJECT_CREATE: _EVERY_MEMBER,
    Action.PROJECT_LIST: _EVERY_MEMBER | {WorkspaceRole.GUEST},
    Action.PROJECT_READ: _EVERY_MEMBER,
    Action.COLUMN_WRITE: _EVERY_MEMBER,
    Action.TASK_WRITE: _EVERY_MEMBER,
}


def is_allowed(role: WorkspaceRole, action: Action) -> bool:
    return role in PERMISSIONS[action]


def require(role: WorkspaceRole, action: Action) -> None:
    """Raise ``Forbidden`` unless ``role`` may perform ``action``."""
    if not is_allowed(role, action):
        raise Forbidden(f"Your role '{role}' may not {action}.", {"action": str(action)})
