"""Rooms are named after what they hold."""

from __future__ import annotations

from uuid import UUID


def project_room(project_id: UUID | str) -> str:
    return f"project:{project_id}"


def user_room(user_id: UUID | str) -> str:
    return f"user:{user_id}"
