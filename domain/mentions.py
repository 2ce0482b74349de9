"""@mentions in comments and descriptions.

A mention is written ``<@user-id>`` (the form chat tools use): clients render it with the
member's name, and it survives renames. Only members who can see the project count; other
tokens are left as text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import UUID

_MENTION = re.compile(r"<@([0-9a-fA-F-]{36})>")
MAX_MENTIONS = 50


def mentioned_ids(text: str) -> list[UUID]:
    """The distinct user ids mentioned in ``text``, in order of first appearance."""
    found: dict[UUID, None] = {}
    for match in _MENTION.finditer(text):
        try:
            found.setdefault(UUID(match[1]), None)
        except ValueError:
            continue
        if len(found) >= MAX_MENTIONS:
            break
    return list(found)


def render_mentions(text: str, names: Mapping[UUID, str]) -> str:
    """``text`` with each ``<@user-id>`` of a known user written as ``@Name`` (for e-mails and
    other plain-text places; clients render mentions themselves)."""

    def name(match: re.Match[str]) -> str:
        try:
            known = names.get(UUID(match[1]))
        except ValueError:
            known = None
        return f"@{known}" if known else match[0]

    return _MENTION.sub(name, text)
