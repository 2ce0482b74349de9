"""Our WebSocket transport for python-engineio's aiohttp mode: no per-message compression by
default (ADR 0013), and connections that end at once when the server stops.

Compression: aiohttp's ``WebSocketResponse`` accepts permessage-deflate whenever the client
offers it (browsers and the Node client do; python-socketio's client does not by default), and
python-engineio offers no option to refuse. Board events are small JSON messages: deflating each
one for each recipient cost far more CPU than it saved bytes (ROADMAP: p99 208 ms with
compression vs 6 ms without at 500 ops/s, and four times the memory per idle connection).

Shutdown: when aiohttp starts shutting down it stops reading from every connection, before the
app's ``on_shutdown`` runs. The Engine.IO CLOSE packets we send then still go out, but the
clients' WebSocket close frames are never read, so every handler waited for its client to give
up (5 s for python-socketio's client, 10 s for a plain aiohttp one) and so did the process.
``OpenWebSockets.close_all`` ends their TCP connections instead, once the CLOSE packets are out.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from engineio.async_drivers import aiohttp as engineio_aiohttp


class OpenWebSockets:
    """The connections of the WebSockets being served."""

    def __init__(self) -> None:
        self._transports: set[asyncio.BaseTransport] = set()

    def add(self, transport: asyncio.BaseTransport | None) -> None:
        if transport is not None:
            self._transports.add(transport)

    def discard(self, transport: asyncio.BaseTransport | None) -> None:
        self._transports.discard(transport)

    def close_all(self) -> int:
        """Close every WebSocket's connection (the server is stopping); how many."""
        closed = 0
        for transport in list(self._transports):
            if not transport.is_closing():
                transport.close()  # what is buffered is still sent first
                closed += 1
        return closed


def serve_websockets(eio_server: Any, compress: bool) -> OpenWebSockets:
    """Make an engineio ``AsyncServer`` in aiohttp mode serve WebSockets with our driver.

    The driver table is shared module state, so the server gets its own copy.
    """
    if eio_server.async_mode != "aiohttp":
        raise RuntimeError("serve_websockets applies to the aiohttp driver only")
    open_websockets = OpenWebSockets()

    class BoardroomWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
        """engineio's own aiohttp WebSocket wrapper, with ``compress`` chosen and the request
        recorded while it is served."""

        async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
            request = environ["aiohttp.request"]
            self._sock = web.WebSocketResponse(
                max_msg_size=self.server.max_http_buffer_size, compress=compress
            )
            await self._sock.prepare(request)
            self.environ = environ
            transport = request.transport  # requests are not hashable; transports are
            open_websockets.add(transport)
            try:
                await self.handler(self)
            finally:
                open_websockets.discard(transport)
            return self._sock

    eio_server._async = {**eio_server._async, "websocket": BoardroomWebSocket}
    return open_websockets
