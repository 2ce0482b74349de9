"""How an agent handles one message so that an error never acks it silently (ADR 0019).

Faust acks a message whose agent raised. So each agent processes a message through
``Guard.process``: an outage of a dependency (PostgreSQL, Redis) is retried without end, so
the partition waits and nothing is skipped; any other error is retried a few times with
backoff, then the message goes to the dead-letter topic with the error, counted and logged.
A message that does not parse as an integration event goes there at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.exceptions
from pydantic import ValidationError

from domain.integration import IntegrationEvent
from persistence.errors import database_unavailable

log = logging.getLogger(__name__)


def transient(exc: BaseException) -> bool:
    """An unavailable dependency (the database, Redis): wait for it rather than count the
    failure toward dead-lettering the message."""
    return database_unavailable(exc) or isinstance(exc, redis.exceptions.ConnectionError)


Handler = Callable[[IntegrationEvent], Awaitable[object]]
DeadLetterSink = Callable[[bytes, bytes], Awaitable[object]]


class Guard:
    def __init__(
        self,
        agent: str,
        dead_letter: DeadLetterSink,
        attempts: int = 3,
        first_backoff: float = 0.2,
        on_outcome: Callable[[str, str], object] | None = None,
    ) -> None:
        self.agent = agent
        self._dead_letter = dead_letter
        self._attempts = attempts
        self._first_backoff = first_backoff
        self._on_outcome = on_outcome
        self.counts: Counter[str] = Counter()

    def _count(self, outcome: str) -> None:
        """``processed``, ``transient_retries`` or ``dead_lettered``: logged every minute and
        reported to ``on_outcome`` (the worker's metrics)."""
        self.counts[outcome] += 1
        if self._on_outcome is not None:
            self._on_outcome(self.agent, outcome)

    async def process(self, raw: bytes, handler: Handler, source: dict[str, Any]) -> None:
        try:
            event = IntegrationEvent.model_validate_json(raw)
        except ValidationError as exc:
            await self._bury(raw, source, f"unparseable: {exc.errors(include_url=False)}")
            return
        failures = 0
        backoff = self._first_backoff
        while True:
            try:
                await handler(event)
                self._count("processed")
                return
            except Exception as exc:
                if transient(exc):
                    self._count("transient_retries")
                    log.warning(
                        "%s: dependency unavailable (%s); retrying %s",
                        self.agent,
                        exc,
                        event.event_id,
                    )
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                failures += 1
                log.exception(
                    "%s: failed on event %s (attempt %d of %d)",
                    self.agent,
                    event.event_id,
                    failures,
                    self._attempts,
                )
                if failures >= self._attempts:
                    await self._bury(raw, source, f"{type(exc).__name__}: {exc}")
                    return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _bury(self, raw: bytes, source: dict[str, Any], error: str) -> None:
        self._count("dead_lettered")
        log.error("%s: sent a message to the dead-letter topic (%s): %s", self.agent, source, error)
        letter = {
            "agent": self.agent,
            "error": error[:2000],
            "source": source,
            "message": raw.decode("utf-8", errors="replace"),
        }
        await self._dead_letter(str(source.get("key") or "").encode(), orjson.dumps(letter))
