"""Fractional (lexicographic) order keys for columns and tasks (ADR 0006).

A move computes one key strictly between the neighbours' keys, so it writes one row and emits one
event; siblings are never renumbered. Keys compare as plain byte strings, which is why the
database columns holding them use the "C" collation.
"""

from __future__ import annotations

from fractional_indexing import generate_key_between, generate_n_keys_between

MAX_KEY_LENGTH = 16
"""Longer keys come from many insertions at one spot (about one character per five or six):
the list is then given fresh, evenly spread keys (``spread_keys``)."""


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after ``before`` and before ``after`` (either may be open)."""
    return str(generate_key_between(before, after))


def spread_keys(count: int) -> list[str]:
    """``count`` short keys in ascending order, evenly spread (``a0``, ``a1``, ...)."""
    return [str(key) for key in generate_n_keys_between(None, None, count)]
