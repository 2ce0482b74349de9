"""REST: register, login, refresh, logout (docs/protocol.md, "REST")."""

from __future__ import annotations

from aiohttp import web

from domain.commands import ChangePassword, Login, Logout, Refresh, Register
from handlers.bearer import AUTH_SERVICE, authenticated_user
from handlers.jsonbody import json_response, read_json_object


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


async def change_password(request: web.Request) -> web.Response:
    user_id = await authenticated_user(request)
    cmd = ChangePassword.model_validate(await read_json_object(request))
    session = await request.app[AUTH_SERVICE].change_password(user_id, cmd)
    return json_response(session.as_dict())


async def logout(request: web.Request) -> web.Response:
    cmd = Logout.model_validate(await read_json_object(request))
    await request.app[AUTH_SERVICE].logout(cmd)
    return web.Response(status=204)
