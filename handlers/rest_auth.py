"""REST: register, login, refresh, logout (docs/protocol.md, "REST")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from application.auth_service import AuthService
from domain.commands import Login, Logout, Refresh, Register
from domain.permissions import Action
from handlers.jsonbody import json_response, read_json_object

AUTH_SERVICE: web.AppKey[AuthService] = web.AppKey("auth_service", AuthService)

Handler = Callable[[web.Request], Awaitable[web.Response]]


async def register(request: web.Request) -> web.Response:
    cmd = Register.model_validate(await read_json_object(request))
    session = await request.app[AUTH_SERVICE].register(cmd)
    return json_response(session.as_dict(), status=201)


async def login(request: web.Request) -> web.Response:
    cmd = Login.model_validate(await read_json_object(request))
    session = await request.app[AUTH_SERVICE].login(cmd)
    return json_response(session.as_dict())


async def refresh(request: web.Request) -> web.Response:
    cmd = Refresh.model_validate(await read_json_object(request))
    session = await request.app[AUTH_SERVICE].refresh(cmd)
    return json_response(session.as_dict())


async def logout(request: web.Request) -> web.Response:
    cmd = Logout.model_validate(await read_json_object(request))
    await request.app[AUTH_SERVICE].logout(cmd)
    return web.Response(status=204)


# Every REST route with its permission-table action (checked by the permission matrix test).
ROUTES: dict[str, tuple[Handler, Action]] = {
    "/api/v1/auth/register": (register, Action.AUTH_REGISTER),
    "/api/v1/auth/login": (login, Action.AUTH_LOGIN),
    "/api/v1/auth/refresh": (refresh, Action.AUTH_REFRESH),
    "/api/v1/auth/logout": (logout, Action.AUTH_LOGOUT),
}


def setup_routes(app: web.Application) -> None:
    for path, (handler, _) in ROUTES.items():
        app.router.add_post(path, handler)
