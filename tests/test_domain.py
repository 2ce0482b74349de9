"""Pure domain rules, no services."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from domain import commands as c
from domain.errors import Forbidden
from domain.ordering import MAX_KEY_LENGTH, key_between, spread_keys
from domain.permissions import (
    PERMISSIONS,
    Action,
    ProjectRole,
    WorkspaceRole,
    effective_project_role,
    is_allowed,
    may_manage,
    require,
)


def test_keys_between_neighbours_sort_between_them():
    keys = [key_between(None, None)]
    rng = random.Random(7)
    for _ in range(500):
        i = rng.randrange(len(keys) + 1)
        before = keys[i - 1] if i > 0 else None
        after = keys[i] if i < len(keys) else None
        new = key_between(before, after)
        assert (before is None or before < new) and (after is None or new < after)
        keys.insert(i, new)
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_appending_many_times_keeps_keys_short():
    key = None
    for _ in range(1000):
        key = key_between(key, None)
    assert len(key) <= 4


def test_every_action_has_a_row_in_the_permission_table():
    assert set(PERMISSIONS) == set(Action)


def test_effective_project_roles():
    assert effective_project_role(WorkspaceRole.OWNER, ProjectRole.VIEWER) is ProjectRole.MANAGER
    assert effective_project_role(WorkspaceRole.ADMIN, None) is ProjectRole.MANAGER
    assert effective_project_role(WorkspaceRole.MEMBER, None) is ProjectRole.EDITOR
    assert effective_project_role(WorkspaceRole.MEMBER, ProjectRole.VIEWER) is ProjectRole.VIEWER
    assert effective_project_role(WorkspaceRole.GUEST, None) is None
    assert effective_project_role(WorkspaceRole.GUEST, ProjectRole.COMMENTER) is (
        ProjectRole.COMMENTER
    )


def test_viewers_may_read_but_not_write():
    assert is_allowed(ProjectRole.VIEWER, Action.PROJECT_READ)
    assert is_allowed(ProjectRole.EDITOR, Action.TASK_WRITE)
    with pytest.raises(Forbidden):
        require(ProjectRole.VIEWER, Action.TASK_WRITE)


def test_only_owners_touch_owners():
    o, a, m = WorkspaceRole.OWNER, WorkspaceRole.ADMIN, WorkspaceRole.MEMBER
    assert may_manage(o, o, a)
    assert may_manage(a, m, WorkspaceRole.GUEST)
    assert not may_manage(a, o, m)
    assert not may_manage(a, m, o)
    assert not may_manage(m, WorkspaceRole.GUEST, None)


def test_commands_refuse_unknown_fields_and_strip_names():
    cmd = c.CreateWorkspace(op_id="a-1", name="  Team  ")
    assert cmd.name == "Team"
    with pytest.raises(ValidationError):
        c.CreateWorkspace.model_validate({"op_id": "a-1", "name": "x", "extra": 1})


def test_mentions_are_parsed_once_each_in_order():
    from uuid import uuid4

    from domain.mentions import mentioned_ids

    a, b = uuid4(), uuid4()
    text = f"<@{a}> and <@{b}>, again <@{a}>; not <@nope> nor @{a}"
    assert mentioned_ids(text) == [a, b]


def test_spread_keys_are_short_strictly_ascending_and_byte_ordered() -> None:
    keys = spread_keys(5_000)
    assert keys == sorted(keys, key=lambda k: k.encode()) and len(set(keys)) == 5_000
    assert max(map(len, keys)) <= 4 < MAX_KEY_LENGTH
    assert spread_keys(3) == ["a0", "a1", "a2"]
