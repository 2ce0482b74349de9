"""The OpenAPI document is served, describes exactly the REST routes the app has, and real
requests get the statuses and shapes it documents (a small, deterministic probe of chosen
cases; tests/test_schemathesis.py generates hundreds more from the document)."""

from __future__ import annotations

from typing import Any

from handlers.openapi import openapi_document
from handlers.rest_routes import ROUTES
from tests.support import unique_email


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


async def test_the_served_document_is_the_generated_one_and_covers_every_route(api, base_url):
    async with api.http.get(f"{base_url}/api/v1/openapi.json") as resp:
        assert resp.status == 200
        served = await resp.json()
    assert served == openapi_document(ROUTES)
    documented = {(path, method.upper()) for path, ops in served["paths"].items() for method in ops}
    assert documented == {(path, route.method) for path, route in ROUTES.items()}
    schemas = served["components"]["schemas"]
    for ref in _refs(served):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    assert served["paths"]["/api/v1/auth/password"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in served["paths"]["/api/v1/auth/login"]["post"]


async def test_real_answers_match_what_the_document_says(api, base_url):
    doc = openapi_document(ROUTES)

    async def call(method: str, path: str, body: Any = None, token: str | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with api.http.request(method, base_url + path, json=body, headers=headers) as resp:
            text = await resp.text()
            documented = doc["paths"][_template(path)][method.lower()]["responses"]
            assert str(resp.status) in documented, (method, path, resp.status, text)
            return resp.status, (await resp.json(content_type=None)) if text else None

    session_keys = set(doc["components"]["schemas"]["Session"]["required"])
    error_codes = set(
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    )
    # Every body route refuses an empty body with the documented error object.
    for path, route in ROUTES.items():
        if route.body is None:
            continue
        status, body = await call("POST", path, {})
        assert status in (400, 401) and body["error"]["code"] in error_codes
    email = unique_email("doc")
    status, body = await call(
        "POST",
        "/api/v1/auth/register",
        {"email": email, "password": "documented password", "display_name": "Doc"},
    )
    assert status == 201 and session_keys <= body.keys()
    status, session = await call(
        "POST", "/api/v1/auth/login", {"email": email, "password": "documented password"}
    )
    assert status == 200 and session_keys <= session.keys()
    status, body = await call(
        "GET", "/api/v1/workspaces/00000000-0000-0000-0000-000000000001/audit"
    )
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, body = await call(
        "GET",
        "/api/v1/workspaces/00000000-0000-0000-0000-000000000001/audit",
        token=session["access_token"],
    )
    assert status == 404
    status, _ = await call(
        "POST", "/api/v1/auth/logout", {"refresh_token": session["refresh_token"]}
    )
    assert status == 204


def _template(path: str) -> str:
    for template in ROUTES:
        parts, actual = template.split("/"), path.split("/")
        if len(parts) == len(actual) and all(
            p == a or p.startswith("{") for p, a in zip(parts, actual, strict=True)
        ):
            return template
    raise AssertionError(f"no route for {path}")


def test_docs_api_descriptions_are_generated_from_the_code():
    from realtime.cli import api_documents
    from tests.support import ROOT

    for name, text in api_documents().items():
        assert (ROOT / "docs" / name).read_text() == text, (
            f"docs/{name} is stale: run `boardroom api-docs`"
        )


def test_the_asyncapi_document_describes_every_socket_event():
    from handlers.asyncapi import SERVER_EVENTS, asyncapi_document
    from handlers.socket_events import EVENTS

    doc = asyncapi_document()
    messages = doc["channels"]["socket"]["messages"]
    names = {m["name"] for m in messages.values()}
    assert set(EVENTS) | set(SERVER_EVENTS) | {"ack"} == names
    for ref in _refs(doc):
        if ref.startswith("#/components/schemas/"):
            assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], ref
        else:
            assert ref.startswith("#/channels/socket")
