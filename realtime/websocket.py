"""WebSocket transport without per-message compression (ADR 0013).

aiohttp's ``WebSocketResponse`` accepts permessage-deflate whenever the client offers it
(browsers and the Node client do; python-socketio's client does not by default), and
python-engineio offers no option to refuse.
Board events are small JSON messages: deflating each one for each recipient cost far more CPU
than it saved bytes (ROADMAP: p99 208 ms with compression vs 6 ms without at 500 ops/s, and
four times the memory per idle connection). This driver is engineio's own aiohttp WebSocket
wrapper with ``compress=False``; it replaces only the ``websocket`` entry of the driver table.
"""

from __future__ import annotations

from typing import Any

from aiohttp.web import WebSocketResponse
from engineio.async_drivers import aiohttp as engineio_aiohttp


class UncompressedWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
    async def __call__(self, environ: dict[str, Any]) -> WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        await self.handler(self)
        return self._sock


def disable_compression(eio_server: Any) -> None:
    """Make an engineio ``AsyncServer`` in aiohttp mode use ``UncompressedWebSocket``.

    The driver table is shared module state, so the server gets its own copy.
    """
    if eio_server.async_mode != "aiohttp":
        raise RuntimeError("disable_compression applies to the aiohttp driver only")
    eio_server._async = {**eio_server._async, "websocket": UncompressedWebSocket}
