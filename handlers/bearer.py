"""REST authentication: the access token in ``Authorization: Bearer``, checked like a socket's."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from application.auth_service import AuthService
from domain.errors import Unauthorized

AUTH_SERVICE: web.AppKey[AuthService] = web.AppKey("auth_service", AuthService)


async def authenticated_user(request: web.Request) -> UUID:
    """The caller's user id; ``Unauthorized`` without a valid token of a live login."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Send the access token as `Authorization: Bearer <token>`.", {"reason": "missing"}
        )
    claims = await request.app[AUTH_SERVICE].authenticate(token.strip())
    return claims.user_id
