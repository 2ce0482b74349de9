"""pypika helpers shared by the repositories.

Queries are built with pypika and carry asyncpg's positional ``$n`` parameters, so values never
reach the SQL text. Each repository builds its statements once, lazily, and reuses the string.
"""

from __future__ import annotations

from functools import cache

from pypika import Parameter, PostgreSQLQuery, Table

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
