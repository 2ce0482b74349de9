"""Fault injection for the crash tests: ``BOARDROOM_FAILPOINTS=relay.after_publish`` makes the
process exit abruptly (as if killed) when it reaches that point. Unset in production, a
failpoint costs one set lookup."""

from __future__ import annotations

import os

_ENABLED = frozenset(
    name.strip() for name in os.environ.get("BOARDROOM_FAILPOINTS", "").split(",") if name.strip()
)
CRASH_EXIT_CODE = 137


def failpoint(name: str) -> None:
    if name in _ENABLED:
        os._exit(CRASH_EXIT_CODE)
