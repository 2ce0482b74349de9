"""The Socket.IO server class: python-socketio's, with a bound on connections that never
finish the Socket.IO handshake.

python-socketio has no counterpart of the JavaScript server's ``connectTimeout``: an
Engine.IO connection that opens and then never sends the Socket.IO CONNECT packet stays open,
answering pings, for as long as its peer likes, and no connection count sees it (they count
Socket.IO connections, after authentication). Here such a connection is closed after
``handshake_timeout`` seconds, and beyond ``max_pending`` of them at once new Engine.IO
connections are refused. This overrides two of python-socketio's internal handlers
(``_handle_eio_connect``, ``_handle_connect``; version pinned by requirements/), as ADR 0013
does for engineio's WebSocket driver.
"""

from __future__ import annotations

import logging
from typing import Any

import socketio

log = logging.getLogger(__name__)


class HandshakeBoundServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, *args: Any, handshake_timeout: float, max_pending: int, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._handshake_timeout = handshake_timeout
        self._max_pending = max_pending
        self.pending: set[str] = set()  # Engine.IO sessions that have not joined a namespace

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if len(self.pending) >= self._max_pending:
            log.warning("refused a connection: %d handshakes already pending", len(self.pending))
            return False  # Engine.IO answers 401 and closes
        self.pending.add(eio_sid)
        self.start_background_task(self._close_if_silent, eio_sid)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        self.pending.discard(eio_sid)
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        self.pending.discard(eio_sid)
        await super()._handle_eio_disconnect(eio_sid, reason)

    async def _close_if_silent(self, eio_sid: str) -> None:
        await self.sleep(self._handshake_timeout)
        if eio_sid in self.pending:
            self.pending.discard(eio_sid)
            log.info("closed a connection that sent no Socket.IO handshake in time")
            await self.eio.disconnect(eio_sid)
