"""Field-level conflict detection (ADR 0010).

Each entity remembers, per field, the version that last changed it. An update says which
version it was based on; it conflicts exactly when a field it changes (to a different value)
was changed by someone else after that version. Changes to other fields merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CREATED_VERSION = 1


def conflicting_fields(
    base_version: int,
    field_versions: Mapping[str, int],
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
) -> list[str]:
    """The fields of ``changes`` that someone else changed since ``base_version``.

    A change that sets a field to the value it already has is no conflict: both sides agree.
    """
    return sorted(
        field
        for field, value in changes.items()
        if field_versions.get(field, CREATED_VERSION) > base_version and current[field] != value
    )


def stamped(
    field_versions: Mapping[str, int], changes: Mapping[str, Any], version: int
) -> dict[str, int]:
    """The field versions after ``changes`` are applied as ``version``."""
    return {**field_versions, **dict.fromkeys(changes, version)}
