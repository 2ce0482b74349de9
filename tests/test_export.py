"""Bulk export (issue 6, item 4): a project and a workspace as streamed JSON and CSV, for the
roles the permission table allows, recorded as security events."""

from __future__ import annotations

import csv
import io

import orjson

from tests.support import Api, connect, create_task, make_board, op


async def _get(api: Api, path: str, token: str, fmt: str = "json"):
    headers = {"Authorization": f"Bearer {token}"}
    async with api.http.get(f"{api.base_url}{path}", headers=headers, params={"format": fmt}) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


async def test_a_manager_exports_a_project_and_an_admin_the_workspace(api, base_url, db):
    owner = await api.register("exporter")
    reader = await api.register("reader")
    client = await connect(base_url, owner.access_token)
    try:
        board = await make_board(client)
        second = await client.ok(
            "column:create", {"op_id": op(), "project_id": board.project_id, "name": "Done"}
        )
        titles = []
        for i, column in enumerate([board.column_id, second["data"]["id"], board.column_id]):
            title = f'task {i}, "quoted"\nline'
            await client.ok(
                "task:create",
                {
                    "op_id": op(),
                    "project_id": board.project_id,
                    "column_id": column,
                    "title": title,
                },
            )
            titles.append(title)
        task = (await client.ok("project:join", {"project_id": board.project_id}))["data"]
        first_task = task["tasks"][0]["id"]
        await client.ok(
            "task:assign",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "task_id": first_task,
                "user_id": owner.user_id,
            },
        )
        await client.ok(
            "member:invite",
            {
                "op_id": op(),
                "workspace_id": board.workspace_id,
                "email": reader.email,
                "role": "member",
            },
        )
        await client.ok(
            "project_member:set_role",
            {
                "op_id": op(),
                "project_id": board.project_id,
                "user_id": reader.user_id,
                "role": "viewer",
            },
        )
    finally:
        await client.sio.disconnect()

    path = f"/api/v1/projects/{board.project_id}/export"
    status, kind, body = await _get(api, path, owner.access_token)
    assert status == 200 and kind.startswith("application/json")
    doc = orjson.loads(body)
    [part] = doc["projects"]
    assert part["project"]["id"] == board.project_id
    assert [c["name"] for c in part["columns"]] == ["To do", "Done"]
    assert sorted(t["title"] for t in part["tasks"]) == sorted(titles)
    assigned = [t for t in part["tasks"] if t["id"] == first_task]
    assert assigned[0]["assignees"] == [owner.user_id]

    status, kind, body = await _get(api, path, owner.access_token, "csv")
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert sorted(r["title"] for r in rows) == sorted(titles)  # quotes and newlines survive
    assert {r["column_name"] for r in rows} == {"To do", "Done"}

    # A viewer may read the board but not export it; another tenant's project does not exist.
    assert (await _get(api, path, reader.access_token))[0] == 403
    stranger = await api.register("stranger")
    assert (await _get(api, path, stranger.access_token))[0] == 404
    assert (await _get(api, path, "not-a-token"))[0] == 401

    workspace = f"/api/v1/workspaces/{board.workspace_id}/export"
    status, _, body = await _get(api, workspace, owner.access_token)
    assert status == 200
    doc = orjson.loads(body)
    assert doc["workspace_id"] == board.workspace_id and len(doc["projects"]) == 1
    assert (await _get(api, workspace, reader.access_token))[0] == 403  # members may not

    exported = await db.fetch(
        "SELECT payload->>'type' AS type FROM outbox WHERE payload->>'workspace_id' = $1 "
        "AND payload->>'type' LIKE 'export.%' ORDER BY id",
        board.workspace_id,
    )
    assert [r["type"] for r in exported] == ["export.project", "export.project", "export.workspace"]


async def test_a_csv_cell_never_starts_a_spreadsheet_formula(api, base_url):
    """A title like ``=HYPERLINK(...)`` is kept as written in JSON and the board, and written to
    CSV with a leading apostrophe, which spreadsheets show as text instead of running it."""
    owner = await api.register("exporter")
    client = await connect(base_url, owner.access_token)
    hostile = ['=HYPERLINK("http://evil.example","open")', "+1+1", "-2+3", "@SUM(A1)", "plain"]
    try:
        board = await make_board(client)
        for title in hostile:
            await create_task(client, board, title)
    finally:
        await client.sio.disconnect()
    path = f"/api/v1/projects/{board.project_id}/export"
    _, _, body = await _get(api, path, owner.access_token, "csv")
    titles = sorted(r["title"] for r in csv.DictReader(io.StringIO(body.decode())))
    assert titles == sorted(["'" + t if t != "plain" else t for t in hostile])
    _, _, body = await _get(api, path, owner.access_token, "json")
    [part] = orjson.loads(body)["projects"]
    assert sorted(t["title"] for t in part["tasks"]) == sorted(hostile)
