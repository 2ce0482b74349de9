"""Every REST route with its method and permission-table action, in one table.

The permission matrix test and ``docs/permissions.md`` read this table, and the app registers
exactly these routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from domain.commands import (
    AuditExport,
    AuditQuery,
    ChangePassword,
    ExportProject,
    ExportWorkspace,
    Login,
    Logout,
    Refresh,
    Register,
)
from domain.permissions import Action
from handlers import rest_audit, rest_auth, rest_export
from handlers.address_limits import address_limited
from handlers.jsonbody import json_response

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi", dict)


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of the REST surface, generated from this table."""
    return json_response(request.app[OPENAPI])


@dataclass(frozen=True, slots=True)
class Route:
    """A route, its permission-table action, and what the OpenAPI document says of it."""

    method: str
    handler: Handler
    action: Action
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    ok: tuple[int, str] = (200, "session")  # status and response kind (handlers.openapi)
    checks_credentials: bool = False  # spends the client address's budget (ADR 0040)


ROUTES: dict[str, Route] = {
    "/api/v1/auth/register": Route(
        "POST",
        rest_auth.register,
        Action.AUTH_REGISTER,
        "Create an account and sign in",
        Register,
        ok=(201, "session"),
        checks_credentials=True,
    ),
    "/api/v1/auth/login": Route(
        "POST",
        rest_auth.login,
        Action.AUTH_LOGIN,
        "Sign in (throttled per account address and per client address)",
        Login,
        checks_credentials=True,
    ),
    "/api/v1/auth/refresh": Route(
        "POST", rest_auth.refresh, Action.AUTH_REFRESH, "Rotate the refresh token", Refresh
    ),
    "/api/v1/auth/logout": Route(
        "POST",
        rest_auth.logout,
        Action.AUTH_LOGOUT,
        "Revoke a login",
        Logout,
        ok=(204, "empty"),
    ),
    "/api/v1/auth/password": Route(
        "POST",
        rest_auth.change_password,
        Action.AUTH_CHANGE_PASSWORD,
        "Change the password; every login ends",
        ChangePassword,
        checks_credentials=True,
    ),
    "/api/v1/workspaces/{workspace_id}/audit": Route(
        "GET",
        rest_audit.list_audit,
        Action.AUDIT_READ,
        "Read the audit trail",
        query=AuditQuery,
        ok=(200, "audit_page"),
    ),
    "/api/v1/workspaces/{workspace_id}/audit/export": Route(
        "GET",
        rest_audit.export_audit,
        Action.AUDIT_EXPORT,
        "Export the audit trail",
        query=AuditExport,
        ok=(200, "audit_export"),
    ),
    "/api/v1/projects/{project_id}/export": Route(
        "GET",
        rest_export.export_project,
        Action.PROJECT_EXPORT,
        "Export a project (streamed JSON or CSV)",
        query=ExportProject,
        ok=(200, "export"),
    ),
    "/api/v1/workspaces/{workspace_id}/export": Route(
        "GET",
        rest_export.export_workspace,
        Action.WORKSPACE_EXPORT,
        "Export every project of a workspace (streamed JSON or CSV)",
        query=ExportWorkspace,
        ok=(200, "export"),
    ),
    "/api/v1/openapi.json": Route(
        "GET", openapi_json, Action.API_DESCRIBE, "This document", ok=(200, "document")
    ),
}


def setup_routes(app: web.Application) -> None:
    from handlers.openapi import openapi_document

    app[OPENAPI] = openapi_document(ROUTES)
    for path, route in ROUTES.items():
        handler = address_limited(route.handler) if route.checks_credentials else route.handler
        app.router.add_route(route.method, path, handler)
