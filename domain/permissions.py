"""Who may do what, written as data (ADR 0011): one table, used by the application layer for
every socket event and REST route, rendered into docs/permissions.md and exercised role by role
by tests/test_permission_matrix.py.

Two role sets. Workspace roles (owner, admin, member, guest) govern the workspace itself. Project
roles (manager, editor, commenter, viewer) govern a project; a user's *effective* project role
comes from both (``effective_project_role``): workspace owners and admins manage every project,
members edit projects they have no explicit role in, guests see only projects they were added to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from domain.errors import Forbidden


class WorkspaceRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    GUEST = "guest"


class ProjectRole(StrEnum):
    MANAGER = "manager"
    EDITOR = "editor"
    COMMENTER = "commenter"
    VIEWER = "viewer"


class Scope(StrEnum):
    """What an action is checked against."""

    PUBLIC = "public"  # no credentials needed (signing up, signing in)
    ACCOUNT = "account"  # any signed-in user; concerns only themselves
    WORKSPACE = "workspace"  # the caller's workspace role
    PROJECT = "project"  # the caller's effective project role


class Action(StrEnum):
    AUTH_REGISTER = "auth.register"
    AUTH_LOGIN = "auth.login"
    AUTH_REFRESH = "auth.refresh"
    AUTH_LOGOUT = "auth.logout"
    AUTH_CHANGE_PASSWORD = "auth.change_password"
    API_DESCRIBE = "api.describe"
    SESSION_RENEW = "session.renew"
    WORKSPACE_CREATE = "workspace.create"
    WORKSPACE_LIST = "workspace.list"
    WORKSPACE_LEAVE = "workspace.leave"
    MEMBER_LIST = "member.list"
    MEMBER_INVITE = "member.invite"
    MEMBER_SET_ROLE = "member.set_role"
    MEMBER_REMOVE = "member.remove"
    PROJECT_CREATE = "project.create"
    PROJECT_LIST = "project.list"
    PROJECT_READ = "project.read"
    PROJECT_LEAVE_ROOM = "project.leave_room"
    PROJECT_MEMBER_SET_ROLE = "project_member.set_role"
    PROJECT_MEMBER_REMOVE = "project_member.remove"
    COLUMN_WRITE = "column.write"
    TASK_WRITE = "task.write"
    TASK_WATCH = "task.watch"
    LABEL_WRITE = "label.write"
    COMMENT_WRITE = "comment.write"
    COMMENT_DELETE = "comment.delete"
    PROJECT_HISTORY = "project.history"
    SEARCH = "search"
    NOTIFICATIONS = "notifications"
    AUDIT_READ = "audit.read"
    WEBHOOK_MANAGE = "webhook.manage"
    PROJECT_EXPORT = "project.export"
    WORKSPACE_EXPORT = "workspace.export"
    AUDIT_EXPORT = "audit.export"


@dataclass(frozen=True, slots=True)
class Rule:
    scope: Scope
    roles: frozenset[WorkspaceRole] | frozenset[ProjectRole] = frozenset()
    summary: str = ""


_ALL_WS = frozenset(WorkspaceRole)
_WS_ADMINS = frozenset({WorkspaceRole.OWNER, WorkspaceRole.ADMIN})
_WS_MEMBERS = _WS_ADMINS | {WorkspaceRole.MEMBER}
_ALL_PROJECT = frozenset(ProjectRole)
_EDITORS = frozenset({ProjectRole.MANAGER, ProjectRole.EDITOR})
_MANAGERS = frozenset({ProjectRole.MANAGER})
_COMMENTERS = _EDITORS | {ProjectRole.COMMENTER}

PERMISSIONS: Mapping[Action, Rule] = {
    Action.AUTH_REGISTER: Rule(Scope.PUBLIC, summary="create an account"),
    Action.AUTH_LOGIN: Rule(Scope.PUBLIC, summary="sign in with e-mail and password"),
    Action.AUTH_REFRESH: Rule(
        Scope.PUBLIC, summary="rotate a refresh token (the token is the proof)"
    ),
    Action.AUTH_LOGOUT: Rule(Scope.PUBLIC, summary="revoke a login (the token is the proof)"),
    Action.AUTH_CHANGE_PASSWORD: Rule(
        Scope.ACCOUNT, summary="change one's password (ends every other login)"
    ),
    Action.API_DESCRIBE: Rule(Scope.PUBLIC, summary="read the API's OpenAPI description"),
    Action.SESSION_RENEW: Rule(
        Scope.ACCOUNT, summary="give a live socket a fresh access token of the same account"
    ),
    Action.WORKSPACE_CREATE: Rule(Scope.ACCOUNT, summary="create a workspace (becoming its owner)"),
    Action.WORKSPACE_LIST: Rule(Scope.ACCOUNT, summary="list the workspaces one belongs to"),
    Action.WORKSPACE_LEAVE: Rule(Scope.WORKSPACE, _ALL_WS, "leave (not as the last owner)"),
    Action.MEMBER_LIST: Rule(Scope.WORKSPACE, _WS_MEMBERS, "list members and pending invitations"),
    Action.MEMBER_INVITE: Rule(Scope.WORKSPACE, _WS_ADMINS, "invite by e-mail with a role"),
    Action.MEMBER_SET_ROLE: Rule(
        Scope.WORKSPACE, _WS_ADMINS, "change a member's role (only owners touch owners)"
    ),
    Action.MEMBER_REMOVE: Rule(
        Scope.WORKSPACE, _WS_ADMINS, "remove a member (only owners remove owners)"
    ),
    Action.PROJECT_CREATE: Rule(Scope.WORKSPACE, _WS_MEMBERS, "create a project"),
    Action.PROJECT_LIST: Rule(Scope.WORKSPACE, _ALL_WS, "list projects (guests: their own only)"),
    Action.PROJECT_READ: Rule(Scope.PROJECT, _ALL_PROJECT, "join a project and read its board"),
    Action.PROJECT_LEAVE_ROOM: Rule(Scope.ACCOUNT, summary="stop receiving a project's events"),
    Action.PROJECT_MEMBER_SET_ROLE: Rule(
        Scope.PROJECT, _MANAGERS, "give a workspace member a role in the project"
    ),
    Action.PROJECT_MEMBER_REMOVE: Rule(Scope.PROJECT, _MANAGERS, "take a project role away"),
    Action.COLUMN_WRITE: Rule(
        Scope.PROJECT, _EDITORS, "create, rename, move, delete, archive, restore columns"
    ),
    Action.TASK_WRITE: Rule(
        Scope.PROJECT,
        _EDITORS,
        "create, update (title, description, due date), move, delete, archive, restore tasks;"
        " assignees, labels on tasks, checklist items",
    ),
    Action.TASK_WATCH: Rule(Scope.PROJECT, _ALL_PROJECT, "watch or unwatch a task for oneself"),
    Action.LABEL_WRITE: Rule(Scope.PROJECT, _EDITORS, "create, rename, recolour, delete labels"),
    Action.COMMENT_WRITE: Rule(Scope.PROJECT, _COMMENTERS, "comment; edit one's own comments"),
    Action.COMMENT_DELETE: Rule(
        Scope.PROJECT, _COMMENTERS, "delete a comment: one's own, or any as a manager"
    ),
    Action.PROJECT_HISTORY: Rule(
        Scope.PROJECT, _ALL_PROJECT, "read a task, and the activity of a task or project"
    ),
    Action.SEARCH: Rule(
        Scope.WORKSPACE, _ALL_WS, "full-text search (results only from readable projects)"
    ),
    Action.PROJECT_EXPORT: Rule(
        Scope.PROJECT, _MANAGERS, "export the whole project as JSON or CSV (audited)"
    ),
    Action.WORKSPACE_EXPORT: Rule(
        Scope.WORKSPACE, _WS_ADMINS, "export every project of the workspace (audited)"
    ),
    Action.WEBHOOK_MANAGE: Rule(
        Scope.PROJECT, _MANAGERS, "add, list and remove webhooks; read their delivery log"
    ),
    Action.AUDIT_READ: Rule(
        Scope.WORKSPACE, _WS_ADMINS, "read the workspace's audit trail (REST, paginated)"
    ),
    Action.AUDIT_EXPORT: Rule(
        Scope.WORKSPACE, _WS_ADMINS, "export the workspace's audit trail (itself audited)"
    ),
    Action.NOTIFICATIONS: Rule(
        Scope.ACCOUNT, summary="list, mark read and configure one's own notifications"
    ),
}


def effective_project_role(
    workspace_role: WorkspaceRole, explicit: ProjectRole | None
) -> ProjectRole | None:
    """The role a workspace member has in one project; None means they cannot see it."""
    if workspace_role in _WS_ADMINS:
        return ProjectRole.MANAGER
    if explicit is not None:
        return explicit
    if workspace_role is WorkspaceRole.MEMBER:
        return ProjectRole.EDITOR
    return None


def is_allowed(role: WorkspaceRole | ProjectRole | None, action: Action) -> bool:
    rule = PERMISSIONS[action]
    if rule.scope in (Scope.PUBLIC, Scope.ACCOUNT):
        return True
    return role is not None and role in rule.roles


def require(role: WorkspaceRole | ProjectRole | None, action: Action) -> None:
    """Raise ``Forbidden`` unless ``role`` may perform ``action``."""
    if not is_allowed(role, action):
        raise Forbidden(
            f"Your role '{role}' may not {PERMISSIONS[action].summary or action}.",
            {"action": str(action), "role": str(role)},
        )


def may_manage(
    actor: WorkspaceRole, target_current: WorkspaceRole, target_new: WorkspaceRole | None
) -> bool:
    """Whether ``actor`` may change a member from ``target_current`` to ``target_new``
    (None: remove). Admins manage members and guests; only owners touch owners or make them."""
    if actor is WorkspaceRole.OWNER:
        return True
    return actor is WorkspaceRole.ADMIN and WorkspaceRole.OWNER not in (target_current, target_new)


def render_markdown() -> str:
    """docs/permissions.md, generated from the table (kept true by a test)."""
    lines = [
        "# Permissions",
        "",
        "Generated from `domain/permissions.py` by `boardroom permissions-doc`; do not edit.",
        "",
        "Effective project role: workspace owners and admins are managers of every project;",
        "otherwise an explicit project role applies; members without one are editors;",
        "guests without one cannot see the project (it answers `not_found`).",
        "",
        "| action | checked against | allowed roles | what it covers |",
        "| --- | --- | --- | --- |",
    ]
    for action, rule in PERMISSIONS.items():
        roles = {
            Scope.PUBLIC: "anyone",
            Scope.ACCOUNT: "any signed-in user",
        }.get(rule.scope) or ", ".join(r.value for r in _ordered(rule.roles))
        lines.append(f"| `{action.value}` | {rule.scope.value} | {roles} | {rule.summary} |")
    lines.append("")
    return "\n".join(lines)


def _ordered(
    roles: frozenset[WorkspaceRole] | frozenset[ProjectRole],
) -> list[WorkspaceRole | ProjectRole]:
    order: list[WorkspaceRole | ProjectRole] = [*WorkspaceRole, *ProjectRole]
    return [r for r in order if r in roles]
