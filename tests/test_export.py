"""Bulk export (issue 6, item 4): a project and a workspace as streamed JSON and CSV, for the
roles the permission table allows, recorded as security events."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

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


_FILL = """
INSERT INTO tasks (id, project_id, column_id, title, description, position, created_by)
SELECT gen_random_uuid(), $1, $2, 'Task ' || i, repeat('Some description text. ', 20),
       'a' || lpad(i::text, 7, '0'), $3
FROM generate_series(1, $4) AS i
"""


async def test_a_download_that_fails_midway_ends_as_a_broken_transfer_not_a_second_response(
    api, base_url, db
):
    """The database connection of a running export is killed after the first bytes went
    out: the client must see an incomplete transfer (never a 500 written inside the body that
    reads as a file), and the download's headers carry its X-Request-ID like every answer."""
    owner = await api.register("exporter")
    client = await connect(base_url, owner.access_token)
    try:
        board = await make_board(client)
    finally:
        await client.sio.disconnect()
    # Enough rows that the export is still streaming while the client holds back (the tasks
    # are written straight into the table: only their number matters here).
    await db.execute(
        _FILL,
        uuid.UUID(board.project_id),
        uuid.UUID(board.column_id),
        uuid.UUID(owner.user_id),
        60_000,
    )
    # A raw HTTP client: it sees every byte, where an HTTP library would stop at the first
    # malformed chunk.
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"GET /api/v1/projects/{board.project_id}/export?format=csv HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: Bearer {owner.access_token}\r\n"
        "X-Request-ID: export-0001\r\n\r\n".encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
    assert head.startswith(b"HTTP/1.1 200") and b"X-Request-ID: export-0001" in head
    assert b"project_id," in await asyncio.wait_for(reader.readexactly(4096), timeout=30)
    killed = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
        "AND query ILIKE '%FROM%tasks%' AND state <> 'idle'"
    )
    assert killed >= 1
    rest = await asyncio.wait_for(reader.read(), timeout=60)  # until the server closes
    writer.close()
    assert b"HTTP/1.1 500" not in rest  # no second response inside the body
    assert not rest.endswith(b"\r\n0\r\n\r\n")  # and no last chunk: it did not complete
