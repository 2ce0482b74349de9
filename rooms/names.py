"""Rooms are named after what they hold."""

from __future__ import annotations

from uuid import UUID

_PROJECT = "project:"


def project_room(project_id: UUID | str) -> str:
    return f"{_PROJECT}{project_id}"


def is_project_room(name: object) -> bool:
    return isinstance(name, str) and name.startswith(_PROJECT)


def project_of_room(name: object) -> UUID | None:
    """The project whose room ``name`` is, or None for any other room."""
    if isinstance(name, str) and name.startswith(_PROJECT):
        return UUID(name.removeprefix(_PROJECT))
    return None


def user_room(user_id: UUID | str) -> str:
    return f"user:{user_id}"
