"""Is the worker keeping up with the relay? The stall watch (ADR 0039).

A consumer can wedge without an error: after a broker restart, faust once waited for ever
for messages that were never acknowledged, and a consumer can be positioned past messages
that a broker lost. Neither shows in the consumer lag. What does show is the outcome: events
the relay published that the audit log (which records every event) still lacks. The worker
reads that from PostgreSQL every few seconds, counting events published more than
``stall_after`` seconds ago (younger ones may still be on their way), and calls itself stalled
when there are any and its audit agent has finished no message for as long: then its health
check fails (the orchestrator restarts it) and an alert fires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from persistence.audit_coverage import Arrears

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
"""How far back the watch looks (``boardroom audit verify`` looks at everything)."""

STALLED_GAUGE = "boardroom_worker_stalled"


class AuditWatch:
    def __init__(self, stall_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._stall_after = stall_after
        self._clock = clock
        self._last_progress = clock()
        self.arrears = Arrears(0, 0.0)
        self.stalled = False

    @property
    def settle(self) -> timedelta:
        """Events published more recently than this may still be on their way."""
        return timedelta(seconds=self._stall_after)

    def progressed(self) -> None:
        """The audit agent finished a message."""
        self._last_progress = self._clock()

    def assess(self, arrears: Arrears) -> bool:
        """Take a new reading; True while stalled (logged when that changes)."""
        self.arrears = arrears
        idle = self._clock() - self._last_progress
        stalled = arrears.count > 0 and idle > self._stall_after
        if stalled and not self.stalled:
            log.error(
                "worker stalled: %d published event(s) unrecorded, the oldest for %.0f s, and "
                "the audit agent idle for %.0f s (see 'Worker stalled' in docs/operations.md)",
                arrears.count,
                arrears.oldest_seconds,
                idle,
            )
        elif self.stalled and not stalled:
            log.info("worker no longer stalled")
        self.stalled = stalled
        return stalled


def stalled_in_exposition(text: str) -> bool:
    """Whether a worker's ``/metrics`` text reports it stalled (``boardroom healthcheck``)."""
    return any(
        sample.name == STALLED_GAUGE and sample.value >= 1
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    )
