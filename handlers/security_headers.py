"""Headers that tell browsers to refuse what the board never does: run a script or style from
elsewhere, be framed by another site, guess a content type, or leak its URLs in a Referer.

Set on every response (the board, its files, the API, downloads) as it is prepared, so no route
can forget them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

ResponseHook = Callable[[web.Request, web.StreamResponse], Awaitable[None]]


def content_security_policy(public_url: str) -> str:
    """The board loads only its own files; its one connection is the Socket.IO WebSocket to
    the server it came from (named explicitly: older browsers do not count ws: as 'self')."""
    parts = urlsplit(public_url)
    socket_origin = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' {socket_origin}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(public_url: str) -> ResponseHook:
    """An ``on_response_prepare`` hook adding the headers (HSTS only behind HTTPS)."""
    headers = {
        "Content-Security-Policy": content_security_policy(public_url),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if public_url.startswith("https://"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    async def add(request: web.Request, response: web.StreamResponse) -> None:
        for name, value in headers.items():
            response.headers.setdefault(name, value)

    return add
