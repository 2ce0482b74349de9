"""Every REST route with its method and permission-table action, in one table.

The permission matrix test and ``docs/permissions.md`` read this table, and the app registers
exactly these routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from domain.permissions import Action
from handlers import rest_audit, rest_auth

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    handler: Handler
    action: Action


ROUTES: dict[str, Route] = {
    "/api/v1/auth/register": Route("POST", rest_auth.register, Action.AUTH_REGISTER),
    "/api/v1/auth/login": Route("POST", rest_auth.login, Action.AUTH_LOGIN),
    "/api/v1/auth/refresh": Route("POST", rest_auth.refresh, Action.AUTH_REFRESH),
    "/api/v1/auth/logout": Route("POST", rest_auth.logout, Action.AUTH_LOGOUT),
    "/api/v1/auth/password": Route("POST", rest_auth.change_password, Action.AUTH_CHANGE_PASSWORD),
    "/api/v1/workspaces/{workspace_id}/audit": Route(
        "GET", rest_audit.list_audit, Action.AUDIT_READ
    ),
    "/api/v1/workspaces/{workspace_id}/audit/export": Route(
        "GET", rest_audit.export_audit, Action.AUDIT_EXPORT
    ),
}


def setup_routes(app: web.Application) -> None:
    for path, route in ROUTES.items():
        app.router.add_route(route.method, path, route.handler)
