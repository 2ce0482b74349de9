"""The Socket.IO server and Redis manager classes: python-socketio's, with a bound on
connections that never finish the Socket.IO handshake, and a Redis listener that recovers at
once (``PromptRedisManager``).

python-socketio has no counterpart of the JavaScript server's ``connectTimeout``: an
Engine.IO connection that opens and then never sends the Socket.IO CONNECT packet stays open,
answering pings, for as long as its peer likes, and no connection count sees it (they count
Socket.IO connections, after authentication). Here such a connection is closed after
``handshake_timeout`` seconds, and beyond ``max_pending`` of them at once new Engine.IO
connections are refused. This overrides three of python-socketio's internal handlers
(``_handle_eio_connect``, ``_handle_connect``, ``_handle_eio_disconnect``; version pinned by
requirements/), as ADR 0013 does for engineio's WebSocket driver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
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


class PromptRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager, with a listener that comes back promptly and says
    whether it is listening.

    The stock listener doubles its wait after each failure up to 60 s, so after a Redis outage
    of half a minute, delivery between instances stayed down for as long again while the
    instance looked ready. Here it retries every ``retry_seconds`` (a reconnect attempt is one
    cheap TCP connect), logs an outage once rather than each retry, and ``listening`` tells
    readiness (``/readyz``) whether messages from other instances arrive. Overrides
    ``_redis_listen_with_retries`` (version pinned by requirements/).
    """

    def __init__(self, *args: Any, retry_seconds: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._retry_seconds = retry_seconds
        self.listening = False
        # Called (as a background task) each time it comes back: messages published while it
        # was away are lost, and what they did must be redone (handlers/reconcile.py).
        self.on_resubscribed: Callable[[], Awaitable[None]] | None = None

    async def _redis_listen_with_retries(self) -> Any:
        failing = False
        while True:
            try:
                if not self.listening:
                    self._redis_connect()
                    await self.pubsub.subscribe(self.channel)
                    self.listening = True
                    if failing:
                        log.warning("listening to Redis again on %s", self.channel)
                        if self.on_resubscribed is not None:
                            self.server.start_background_task(self.on_resubscribed)
                    failing = False
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:
                if not failing:
                    log.error("lost the Redis listener (%s); retrying", exc)
                failing = True
                self.listening = False
                await asyncio.sleep(self._retry_seconds)
