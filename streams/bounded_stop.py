"""A faust worker that stops within a bound (ADR 0039).

An orchestrator sends SIGTERM and waits (ECS: 30 s) before it kills; a worker that is still
stopping after ``stop_within`` seconds exits at once instead. Nothing is lost: offsets are
committed only for finished messages, the agents are idempotent, and the next worker
processes whatever this one had not finished.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from faust import Worker

log = logging.getLogger(__name__)

EXIT_STOP_TIMEOUT = 75
"""The exit status of a worker that did not stop in time (EX_TEMPFAIL)."""


class BoundedStopWorker(Worker):
    def __init__(self, *args: Any, stop_within: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop_within = stop_within

    async def on_stop(self) -> None:
        """The start of every stop (a signal or a crash): arm the deadline, then stop."""
        deadline = threading.Timer(self._stop_within, self._exit_now)
        deadline.daemon = True  # a clean stop that ends the process ends the timer too
        deadline.start()
        await super().on_stop()

    def _exit_now(self) -> None:
        log.error(
            "worker still stopping after %.0f s; exiting now (unfinished messages will be "
            "processed again)",
            self._stop_within,
        )
        logging.shutdown()
        os._exit(EXIT_STOP_TIMEOUT)
