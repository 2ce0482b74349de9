"""@mentions in comments and descriptions.

A mention is written ``<@user-id>`` (the form chat tools use): clients render it with the
member's name, and it survives renames. Only members who can see the project count; other
tokens are left as text.
"""

from __future__ import annotations

import re
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
