"""Access-token expiry on live sockets (issue 5, item 4).

A socket is authenticated once, at connect, with a short-lived access token. When that token
expires the socket is told (``session:expired``, with the seconds of grace left) and, unless
the client sends ``session:renew`` with a fresh token of the same user within the grace
period, disconnected. Clients should renew a little before ``expires_at`` and never see it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

SESSION_EXPIRED = "session:expired"


class SessionExpiry:
    """One timer per connection of this instance, replaced on renewal, dropped on disconnect."""

    def __init__(
        self,
        notify: Callable[[str, dict[str, object]], Awaitable[object]],
        disconnect: Callable[[str], Awaitable[object]],
        grace_seconds: float,
    ) -> None:
        self._notify = notify
        self._disconnect = disconnect
        self._grace = grace_seconds
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._running: set[asyncio.Task[None]] = set()  # kept until done (not garbage)

    def watch(self, sid: str, expires_at: float) -> None:
        """(Re)arm ``sid``'s timer for a token that expires at ``expires_at`` (Unix time)."""
        self.forget(sid)
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time())
        self._timers[sid] = loop.call_later(delay, self._fire, sid, "expired")

    def forget(self, sid: str) -> None:
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()

    def _fire(self, sid: str, stage: str) -> None:
        loop = asyncio.get_running_loop()
        if stage == "expired":
            self._timers[sid] = loop.call_later(self._grace, self._fire, sid, "grace_over")
            notice = {
                "reason": "access_token_expired",
                "grace_seconds": self._grace,
                "renew_with": "session:renew",
            }
            self._start(self._notify(sid, notice))
        else:
            self._timers.pop(sid, None)
            self._start(self._disconnect(sid))

    def _start(self, action: Awaitable[object]) -> None:
        task = asyncio.get_running_loop().create_task(self._safely(action))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    @staticmethod
    async def _safely(action: Awaitable[object]) -> None:
        try:
            await action
        except Exception:
            log.exception("session expiry action failed")
