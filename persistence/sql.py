"""pypika helpers shared by the repositories.

Queries are built with pypika and carry asyncpg's positional ``$n`` parameters, so values never
reach the SQL text. Each repository builds its statements once, at import (pure string work, no
I/O), and reuses the strings.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from pypika import Criterion, Parameter, PostgreSQLQuery, Table
from pypika import functions as fn
from pypika.terms import Term

Query = PostgreSQLQuery

users = Table("users")
invitations = Table("invitations")
refresh_tokens = Table("refresh_tokens")
workspaces = Table("workspaces")
workspace_members = Table("workspace_members")
projects = Table("projects")
project_members = Table("project_members")
columns = Table("columns")
tasks = Table("tasks")
project_events = Table("project_events")
applied_ops = Table("applied_ops")


def archive_statements(
    table: Table, in_project: Criterion, returning: Sequence[Term]
) -> tuple[str, str]:
    """UPDATEs that archive / restore one row (bumping its version); each matches only a row
    that is not yet in the target state, so "nothing returned" means missing or already so."""
    statements = []
    for value, state in (
        (fn.Now(), table.archived_at.isnull()),
        (None, table.archived_at.notnull()),
    ):
        statements.append(
            str(
                Query.update(table)
                .set(table.archived_at, value)
                .set(table.version, table.version + 1)
                .where(in_project & state)
                .returning(*returning)
            )
        )
    return statements[0], statements[1]


@cache
def p(n: int) -> Parameter:
    """The asyncpg placeholder ``$n``."""
    return Parameter(f"${n}")


task_assignees = Table("task_assignees")
task_watchers = Table("task_watchers")
labels = Table("labels")
task_labels = Table("task_labels")
checklist_items = Table("checklist_items")
comments = Table("comments")
outbox = Table("outbox")
audit_log = Table("audit_log")
audit_heads = Table("audit_heads")
notifications = Table("notifications")
notification_preferences = Table("notification_preferences")
webhooks = Table("webhooks")
webhook_deliveries = Table("webhook_deliveries")
