"""Membership: invitations, role changes and removal, effective at once on live sockets."""

from __future__ import annotations

import aiohttp

from tests.support import Api, connect, make_board, op, unique_email


async def _task(client, board, title="t"):
    return await client.call(
        "task:create",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "column_id": board.column_id,
            "title": title,
        },
    )


async def test_inviting_an_existing_account_adds_it_at_once(api, client_factory):
    owner = await client_factory((await api.register("owner")).access_token)
    bob_account = await api.register("bob")
    bob = await client_factory(bob_account.access_token)
    board = await make_board(owner)
    reply = await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": bob_account.email,
            "role": "member",
        },
    )
    assert reply["data"]["status"] == "added"
    notice = await bob.wait_for_notice("access:changed")
    assert notice == {"reason": "invited", "workspace_id": board.workspace_id, "role": "member"}
    listed = await bob.ok("workspace:list")
    assert [w["role"] for w in listed["data"]["workspaces"]] == ["member"]
    # A member without an explicit project role edits every project of the workspace.
    assert (await _task(bob, board))["ok"] is True
    members = await owner.ok("member:list", {"workspace_id": board.workspace_id})
    assert sorted(m["role"] for m in members["data"]["members"]) == ["member", "owner"]


async def test_an_invitation_waits_for_registration_then_applies(api, client_factory, db):
    owner = await client_factory((await api.register("owner")).access_token)
    board = await make_board(owner)
    email = unique_email("carol")
    reply = await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": email,
            "role": "guest",
            "project_id": board.project_id,
            "project_role": "commenter",
        },
    )
    assert reply["data"]["status"] == "invited"
    pending = await owner.ok("member:list", {"workspace_id": board.workspace_id})
    assert [i["email"] for i in pending["data"]["invitations"]] == [email]
    duplicate = await owner.call(
        "member:invite",
        {"op_id": op(), "workspace_id": board.workspace_id, "email": email, "role": "member"},
    )
    assert duplicate["error"]["code"] == "conflict"

    status, body = await api.post(
        "/api/v1/auth/register",
        {"email": email.upper(), "password": "correct horse battery", "display_name": "Carol"},
    )
    assert status == 201
    carol = await client_factory(body["access_token"])
    projects = await carol.ok("project:list", {"workspace_id": board.workspace_id})
    assert [p["id"] for p in projects["data"]["projects"]] == [board.project_id]
    # A commenter may read the board but not change tasks.
    assert (await carol.call("project:join", {"project_id": board.project_id}))["ok"] is True
    assert (await _task(carol, board))["error"]["code"] == "forbidden"
    assert (
        await db.fetchval(
            "SELECT accepted_by::text FROM invitations WHERE lower(email) = lower($1)", email
        )
        == body["user"]["id"]
    )


async def test_guests_see_only_the_projects_they_were_added_to(api, client_factory):
    owner = await client_factory((await api.register("owner")).access_token)
    guest_account = await api.register("guest")
    guest = await client_factory(guest_account.access_token)
    board = await make_board(owner)
    hidden = await owner.ok(
        "project:create", {"op_id": op(), "workspace_id": board.workspace_id, "name": "Secret"}
    )
    await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": guest_account.email,
            "role": "guest",
            "project_id": board.project_id,
            "project_role": "viewer",
        },
    )
    listed = await guest.ok("project:list", {"workspace_id": board.workspace_id})
    assert [p["id"] for p in listed["data"]["projects"]] == [board.project_id]
    refused = await guest.call("project:join", {"project_id": hidden["data"]["id"]})
    assert refused["error"]["code"] == "not_found"


async def test_a_downgraded_editor_is_refused_on_the_next_operation(api, client_factory):
    owner = await client_factory((await api.register("owner")).access_token)
    ed_account = await api.register("editor")
    editor = await client_factory(ed_account.access_token)
    board = await make_board(owner)
    await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": ed_account.email,
            "role": "member",
            "project_id": board.project_id,
            "project_role": "editor",
        },
    )
    assert (await _task(editor, board))["ok"] is True
    await owner.ok(
        "project_member:set_role",
        {
            "op_id": op(),
            "project_id": board.project_id,
            "user_id": ed_account.user_id,
            "role": "viewer",
        },
    )
    notice = await editor.wait_for_notice(
        "access:changed", lambda n: n["reason"] == "project_role_changed"
    )
    assert notice == {
        "reason": "project_role_changed",
        "project_id": board.project_id,
        "role": "viewer",
    }
    refused = await _task(editor, board)
    assert refused["error"]["code"] == "forbidden"
    assert refused["error"]["details"]["role"] == "viewer"


async def test_a_removed_member_leaves_the_room_on_another_instance_and_is_told_why(
    two_servers, db
):
    first, second = two_servers
    async with aiohttp.ClientSession() as http:
        owner_account = await Api(first.url, http).register("owner")
        bob_account = await Api(second.url, http).register("bob")
    owner = await connect(first.url, owner_account.access_token)
    bob = await connect(second.url, bob_account.access_token)
    try:
        board = await make_board(owner)
        await owner.ok(
            "member:invite",
            {
                "op_id": op(),
                "workspace_id": board.workspace_id,
                "email": bob_account.email,
                "role": "member",
            },
        )
        await bob.ok("project:join", {"project_id": board.project_id})
        before = await _task(owner, board, "seen")
        await bob.wait_for_event(lambda e: e["seq"] == before["seq"])

        await owner.ok(
            "member:remove",
            {"op_id": op(), "workspace_id": board.workspace_id, "user_id": bob_account.user_id},
        )
        notice = await bob.wait_for_notice("access:revoked", timeout=10)
        assert notice == {
            "reason": "removed",
            "workspace_id": board.workspace_id,
            "project_ids": [board.project_id],
        }

        after = await _task(owner, board, "not for bob")
        # A marker sent after it, from the same instance to bob's, travels the same ordered
        # way (owner's instance, Redis, bob's instance, his socket): once it is there, so
        # would the task be.
        other = await owner.ok("workspace:create", {"op_id": op(), "name": "Marker"})
        await owner.ok(
            "member:invite",
            {
                "op_id": op(),
                "workspace_id": other["data"]["id"],
                "email": bob_account.email,
                "role": "member",
            },
        )
        await bob.wait_for_notice(
            "access:changed", lambda n: n["workspace_id"] == other["data"]["id"], timeout=10
        )
        assert not [
            e
            for e in bob.events
            if e["project_id"] == board.project_id and e["seq"] == after["seq"]
        ]
        assert (await _task(bob, board))["error"]["code"] == "not_found"
    finally:
        await owner.sio.disconnect()
        await bob.sio.disconnect()


async def test_the_last_owner_cannot_leave_or_be_demoted(api, client_factory, db):
    account = await api.register("owner")
    owner = await client_factory(account.access_token)
    board = await make_board(owner)
    leave = await owner.call("workspace:leave", {"op_id": op(), "workspace_id": board.workspace_id})
    assert leave["error"]["code"] == "conflict"
    demote = await owner.call(
        "member:set_role",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "user_id": account.user_id,
            "role": "admin",
        },
    )
    assert demote["error"]["code"] == "conflict"
    assert (
        await db.fetchval(
            "SELECT role FROM workspace_members WHERE user_id = $1::uuid", account.user_id
        )
        == "owner"
    )


async def test_admins_cannot_touch_owners(api, client_factory):
    owner_account = await api.register("owner")
    owner = await client_factory(owner_account.access_token)
    admin_account = await api.register("admin")
    admin = await client_factory(admin_account.access_token)
    board = await make_board(owner)
    await owner.ok(
        "member:invite",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "email": admin_account.email,
            "role": "admin",
        },
    )
    for event, extra in (("member:remove", {}), ("member:set_role", {"role": "member"})):
        reply = await admin.call(
            event,
            {
                "op_id": op(),
                "workspace_id": board.workspace_id,
                "user_id": owner_account.user_id,
                **extra,
            },
        )
        assert reply["error"]["code"] == "forbidden", (event, reply)
    promote = await admin.call(
        "member:set_role",
        {
            "op_id": op(),
            "workspace_id": board.workspace_id,
            "user_id": admin_account.user_id,
            "role": "owner",
        },
    )
    assert promote["error"]["code"] == "forbidden"
