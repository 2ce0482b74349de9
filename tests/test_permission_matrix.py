"""The permission matrix: every role x every action x own project / other project / other tenant.

Each socket event is sent by an actor holding one role profile, against a project where the
actor has that explicit role ("own"), another project of the same workspace ("other"), and a
project of a workspace the actor does not belong to ("foreign"). The expected answer comes from
the permission table (domain.permissions), so this test proves that the code enforces exactly
the table for every event; an event or route without a row in the table fails it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from domain.permissions import (
    PERMISSIONS,
    Action,
    ProjectRole,
    Scope,
    WorkspaceRole,
    effective_project_role,
)
from handlers.rest_routes import ROUTES
from handlers.socket_events import EVENTS
from tests.support import Account, Client, op, unique_email

PROFILES: list[tuple[WorkspaceRole, ProjectRole | None]] = [
    (WorkspaceRole.OWNER, None),
    (WorkspaceRole.ADMIN, None),
    (WorkspaceRole.MEMBER, None),
    *[(WorkspaceRole.MEMBER, r) for r in ProjectRole],
    *[(WorkspaceRole.GUEST, r) for r in ProjectRole],
    (WorkspaceRole.GUEST, None),
]
TARGETS = ("own", "other", "foreign")


def test_every_event_and_route_has_a_row_in_the_permission_table():
    assert {spec.action for spec in EVENTS.values()} <= set(PERMISSIONS)
    assert {route.action for route in ROUTES.values()} <= set(PERMISSIONS)
    # and no row stands for nothing
    used = {spec.action for spec in EVENTS.values()} | {r.action for r in ROUTES.values()}
    assert used == set(Action)


async def test_every_api_route_of_the_app_is_in_the_route_table(settings):
    from realtime.app import create_app

    app = await create_app(settings)
    paths = {
        route.resource.canonical
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/")
    }
    assert paths == set(ROUTES)


@dataclass
class Workspace:
    id: str
    projects: dict[str, str]  # target -> project id
    columns: dict[str, str]  # project id -> a column id


@dataclass
class World:
    boss: Client
    actor: Client
    actor_account: Account
    victims: dict[str, Account]
    home: Workspace  # the actor's workspace: "own" and "other" projects
    away: Workspace  # another tenant: the "foreign" project
    db: Any


async def _workspace(boss: Client, name: str, targets: tuple[str, ...]) -> Workspace:
    ws = await boss.ok("workspace:create", {"op_id": op(), "name": name})
    projects: dict[str, str] = {}
    columns: dict[str, str] = {}
    for target in targets:
        project = await boss.ok(
            "project:create", {"op_id": op(), "workspace_id": ws["data"]["id"], "name": target}
        )
        pid = project["data"]["id"]
        column = await boss.ok("column:create", {"op_id": op(), "project_id": pid, "name": "c"})
        projects[target], columns[pid] = pid, column["data"]["id"]
    return Workspace(ws["data"]["id"], projects, columns)


async def _add(boss: Client, ws: Workspace, account: Account, role: WorkspaceRole) -> None:
    invite_as = "member" if role is WorkspaceRole.OWNER else role.value
    await boss.ok(
        "member:invite",
        {"op_id": op(), "workspace_id": ws.id, "email": account.email, "role": invite_as},
    )
    if role is WorkspaceRole.OWNER:
        await boss.ok(
            "member:set_role",
            {"op_id": op(), "workspace_id": ws.id, "user_id": account.user_id, "role": "owner"},
        )


Payload = Callable[[World, str], Awaitable[dict[str, Any]]]


def _ws(world: World, target: str) -> Workspace:
    return world.away if target == "foreign" else world.home


def _project(world: World, target: str) -> str:
    return _ws(world, "foreign" if target == "foreign" else "home").projects[target]


def _column(world: World, target: str) -> str:
    return _ws(world, target).columns[_project(world, target)]


async def _fresh_task(world: World, target: str) -> str:
    reply = await world.boss.ok(
        "task:create",
        {
            "op_id": op(),
            "project_id": _project(world, target),
            "column_id": _column(world, target),
            "title": "t",
        },
    )
    return reply["data"]["id"]


async def _fresh_column(world: World, target: str) -> str:
    reply = await world.boss.ok(
        "column:create", {"op_id": op(), "project_id": _project(world, target), "name": "x"}
    )
    return reply["data"]["id"]


async def _with_project_role(world: World, target: str, victim: str) -> str:
    account = world.victims[victim]
    await world.boss.ok(
        "project_member:set_role",
        {
            "op_id": op(),
            "project_id": _project(world, target),
            "user_id": account.user_id,
            "role": "editor",
        },
    )
    return account.user_id


async def _p(world: World, target: str, **fields: Any) -> dict[str, Any]:
    return {"op_id": op(), "project_id": _project(world, target), **fields}


PAYLOADS: dict[str, Payload] = {
    "session:renew": lambda w, t: _const({"access_token": w.actor_account.access_token}),
    "presence:set": lambda w, t: _joined(w, t),
    "workspace:list": lambda w, t: _const({}),
    "webhook:create": lambda w, t: _p(w, t, url="https://hooks.example.com/boardroom"),
    "webhook:delete": lambda w, t: _webhook_op(w, t),
    "webhook:list": lambda w, t: _const({"project_id": _project(w, t)}),
    "webhook:deliveries": lambda w, t: _webhook_op(w, t, op_id=False),
    "notifications:list": lambda w, t: _const({}),
    "notifications:read": lambda w, t: _const({"all": True}),
    "notifications:preferences": lambda w, t: _const({}),
    "notifications:set_preferences": lambda w, t: _const({"email_enabled": False}),
    "workspace:create": lambda w, t: _const({"op_id": op(), "name": "mine"}),
    "workspace:leave": lambda w, t: _const({"op_id": op(), "workspace_id": _ws(w, t).id}),
    "member:list": lambda w, t: _const({"workspace_id": _ws(w, t).id}),
    "member:invite": lambda w, t: _const(
        {
            "op_id": op(),
            "workspace_id": _ws(w, t).id,
            "email": unique_email("new"),
            "role": "member",
        }
    ),
    "member:set_role": lambda w, t: _const(
        {
            "op_id": op(),
            "workspace_id": _ws(w, t).id,
            "user_id": w.victims["a"].user_id,
            "role": "guest" if t == "own" else "member",
        }
    ),
    "member:remove": lambda w, t: _const(
        {"op_id": op(), "workspace_id": _ws(w, t).id, "user_id": w.victims["b"].user_id}
    ),
    "project:list": lambda w, t: _const({"workspace_id": _ws(w, t).id}),
    "project:create": lambda w, t: _const(
        {"op_id": op(), "workspace_id": _ws(w, t).id, "name": "new"}
    ),
    "project:join": lambda w, t: _const({"project_id": _project(w, t)}),
    "project:leave": lambda w, t: _const({"project_id": _project(w, t)}),
    "project_member:set_role": lambda w, t: _p(w, t, user_id=w.victims["c"].user_id, role="viewer"),
    "project_member:remove": lambda w, t: _remove_role(w, t),
    "column:create": lambda w, t: _p(w, t, name="n"),
    "column:rename": lambda w, t: _column_op(w, t, base_version=1, name="r"),
    "column:move": lambda w, t: _column_op(w, t, after_id=None),
    "column:delete": lambda w, t: _column_op(w, t),
    "task:create": lambda w, t: _p(w, t, column_id=_column(w, t), title="x"),
    "task:update": lambda w, t: _task_op(w, t, base_version=1, title="u"),
    "task:move": lambda w, t: _task_op(w, t, column_id=_column(w, t), after_id=None),
    "task:delete": lambda w, t: _task_op(w, t),
    "task:archive": lambda w, t: _task_op(w, t),
    "task:restore": lambda w, t: _archived_task_op(w, t),
    "column:archive": lambda w, t: _column_op(w, t),
    "column:restore": lambda w, t: _archived_column_op(w, t),
    "task:assign": lambda w, t: _task_op(w, t, user_id=w.victims["c"].user_id),
    "task:unassign": lambda w, t: _assigned_task_op(w, t),
    "task:watch": lambda w, t: _task_op(w, t),
    "task:unwatch": lambda w, t: _task_op(w, t),
    "label:create": lambda w, t: _p(w, t, name=f"l-{op()[-8:]}", color="#aabbcc"),
    "label:update": lambda w, t: _label_op(w, t, color="#001122"),
    "label:delete": lambda w, t: _label_op(w, t),
    "task:label": lambda w, t: _task_and_label_op(w, t),
    "task:unlabel": lambda w, t: _labeled_task_op(w, t),
    "checklist:add": lambda w, t: _task_op(w, t, text="step"),
    "checklist:toggle": lambda w, t: _item_op(w, t, done=True),
    "checklist:move": lambda w, t: _item_op(w, t, after_id=None),
    "checklist:delete": lambda w, t: _item_op(w, t),
    "comment:create": lambda w, t: _task_op(w, t, body="hello"),
    "comment:edit": lambda w, t: _own_comment_op(w, t, body="edited"),
    "comment:delete": lambda w, t: _own_comment_op(w, t),
    "task:get": lambda w, t: _read_task(w, t),
    "project:history": lambda w, t: _const({"project_id": _project(w, t)}),
    "task:history": lambda w, t: _read_task(w, t),
    "search": lambda w, t: _const({"workspace_id": _ws(w, t).id, "q": "t"}),
}


async def _const(payload: dict[str, Any]) -> dict[str, Any]:
    return payload


async def _joined(world: World, target: str) -> dict[str, Any]:
    """Join as the actor first (it fails without access, and so will presence:set)."""
    await world.actor.call("project:join", {"project_id": _project(world, target)})
    return {"project_id": _project(world, target), "editing_task_id": None}


async def _webhook_op(world: World, target: str, op_id: bool = True) -> dict[str, Any]:
    created = await world.boss.ok(
        "webhook:create", await _p(world, target, url="https://h.example")
    )
    payload = await _p(world, target, webhook_id=created["data"]["id"])
    if not op_id:
        del payload["op_id"]
    return payload


async def _column_op(world: World, target: str, **fields: Any) -> dict[str, Any]:
    return await _p(world, target, column_id=await _fresh_column(world, target), **fields)


async def _task_op(world: World, target: str, **fields: Any) -> dict[str, Any]:
    return await _p(world, target, task_id=await _fresh_task(world, target), **fields)


async def _archived_task_op(world: World, target: str) -> dict[str, Any]:
    payload = await _task_op(world, target)
    await world.boss.ok("task:archive", {**payload, "op_id": op()})
    return payload


async def _archived_column_op(world: World, target: str) -> dict[str, Any]:
    payload = await _column_op(world, target)
    await world.boss.ok("column:archive", {**payload, "op_id": op()})
    return payload


async def _assigned_task_op(world: World, target: str) -> dict[str, Any]:
    payload = await _task_op(world, target, user_id=world.victims["c"].user_id)
    await world.boss.ok("task:assign", {**payload, "op_id": op()})
    return payload


async def _fresh_label(world: World, target: str) -> str:
    reply = await world.boss.ok(
        "label:create", await _p(world, target, name=f"l-{op()[-8:]}", color="#123456")
    )
    return reply["data"]["id"]


async def _label_op(world: World, target: str, **fields: Any) -> dict[str, Any]:
    return await _p(world, target, label_id=await _fresh_label(world, target), **fields)


async def _task_and_label_op(world: World, target: str) -> dict[str, Any]:
    return await _task_op(world, target, label_id=await _fresh_label(world, target))


async def _labeled_task_op(world: World, target: str) -> dict[str, Any]:
    payload = await _task_and_label_op(world, target)
    await world.boss.ok("task:label", {**payload, "op_id": op()})
    return payload


async def _item_op(world: World, target: str, **fields: Any) -> dict[str, Any]:
    task_id = await _fresh_task(world, target)
    item = await world.boss.ok("checklist:add", await _p(world, target, task_id=task_id, text="s"))
    return await _p(world, target, item_id=item["data"]["id"], **fields)


async def _own_comment_op(world: World, target: str, **fields: Any) -> dict[str, Any]:
    """A comment written by the actor (stored directly: the actor may lack the right to post)."""
    task_id = await _fresh_task(world, target)
    comment_id = uuid.uuid4()
    await world.db.execute(
        "INSERT INTO comments (id, task_id, project_id, author_id, body)"
        " VALUES ($1, $2::uuid, $3::uuid, $4::uuid, 'mine')",
        comment_id,
        task_id,
        _project(world, target),
        world.actor_account.user_id,
    )
    return await _p(world, target, comment_id=str(comment_id), **fields)


async def _read_task(world: World, target: str) -> dict[str, Any]:
    return {"project_id": _project(world, target), "task_id": await _fresh_task(world, target)}


async def _remove_role(world: World, target: str) -> dict[str, Any]:
    return await _p(world, target, user_id=await _with_project_role(world, target, "d"))


def _expected(event: str, target: str, ws_role: WorkspaceRole, explicit: ProjectRole | None) -> str:
    rule = PERMISSIONS[EVENTS[event].action]
    if rule.scope in (Scope.PUBLIC, Scope.ACCOUNT):
        return "ok"
    if target == "foreign":
        return "not_found"
    if rule.scope is Scope.WORKSPACE:
        return "ok" if ws_role in rule.roles else "forbidden"
    role = effective_project_role(ws_role, explicit if target == "own" else None)
    if role is None:
        return "not_found"
    return "ok" if role in rule.roles else "forbidden"


# Hand-written spot checks, so the matrix is not only the table checking itself.
SPOT_CHECKS = {
    ("task:create", "own", WorkspaceRole.GUEST, ProjectRole.VIEWER): "forbidden",
    ("task:create", "other", WorkspaceRole.GUEST, ProjectRole.EDITOR): "not_found",
    ("task:create", "other", WorkspaceRole.MEMBER, ProjectRole.VIEWER): "ok",
    ("column:delete", "own", WorkspaceRole.MEMBER, ProjectRole.COMMENTER): "forbidden",
    ("project:join", "own", WorkspaceRole.GUEST, ProjectRole.COMMENTER): "ok",
    ("member:invite", "own", WorkspaceRole.MEMBER, None): "forbidden",
    ("member:invite", "own", WorkspaceRole.ADMIN, None): "ok",
    ("project:create", "own", WorkspaceRole.GUEST, None): "forbidden",
    ("project_member:set_role", "other", WorkspaceRole.MEMBER, ProjectRole.MANAGER): "forbidden",
    ("task:delete", "foreign", WorkspaceRole.OWNER, None): "not_found",
}


def test_spot_checks_agree_with_the_table():
    for (event, target, ws_role, explicit), outcome in SPOT_CHECKS.items():
        assert _expected(event, target, ws_role, explicit) == outcome, (event, target, ws_role)


# Events that change the actor's own standing run last, so they do not disturb the others.
_LAST = ("workspace:leave",)


@pytest.mark.parametrize(
    ("ws_role", "explicit"), PROFILES, ids=[f"{w}-{p or 'none'}" for w, p in PROFILES]
)
async def test_matrix(api, client_factory, db, ws_role, explicit):
    boss = await client_factory((await api.register("boss")).access_token)
    actor_account = await api.register("actor")
    actor = await client_factory(actor_account.access_token)
    victims = {name: await api.register(f"victim-{name}") for name in "abcd"}
    home = await _workspace(boss, "home", ("own", "other"))
    away = await _workspace(boss, "away", ("foreign",))
    for ws in (home, away):
        for victim in victims.values():
            await _add(boss, ws, victim, WorkspaceRole.MEMBER)
    await _add(boss, home, actor_account, ws_role)
    if explicit is not None:
        await boss.ok(
            "project_member:set_role",
            {
                "op_id": op(),
                "project_id": home.projects["own"],
                "user_id": actor_account.user_id,
                "role": explicit.value,
            },
        )
    world = World(boss, actor, actor_account, victims, home, away, db)

    mismatches = []
    events = [e for e in EVENTS if e not in _LAST] + list(_LAST)
    for event in events:
        scope = PERMISSIONS[EVENTS[event].action].scope
        # own and other name the same workspace: workspace-scoped events run once for it
        targets = ("own", "foreign") if scope is Scope.WORKSPACE else TARGETS
        for target in targets:
            payload = await PAYLOADS[event](world, target)
            reply = await actor.call(event, payload)
            got = "ok" if reply["ok"] else reply["error"]["code"]
            want = _expected(event, target, ws_role, explicit)
            if got != want:
                mismatches.append((event, target, want, got, reply))
    assert mismatches == [], "\n".join(map(str, mismatches))


def test_docs_permissions_md_is_generated_from_the_table():
    from realtime.cli import permissions_markdown
    from tests.support import ROOT

    assert (ROOT / "docs" / "permissions.md").read_text() == permissions_markdown(), (
        "docs/permissions.md is stale: run `boardroom permissions-doc`"
    )
