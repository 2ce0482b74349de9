"""The OpenAPI 3.1 document of the REST surface, generated from the route table and the
pydantic models, so it cannot drift from what the server accepts (tests/test_openapi.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from domain.commands import CommandJsonSchema
from domain.permissions import PERMISSIONS, Scope
from handlers.errors import ERROR_OBJECT_SCHEMA, HTTP_STATUS

_REF = "#/components/schemas/{model}"

_ERROR = {"type": "object", "required": ["error"], "properties": {"error": ERROR_OBJECT_SCHEMA}}
_SESSION = {
    "type": "object",
    "required": ["user", "access_token", "refresh_token", "token_type", "expires_in"],
    "properties": {
        "user": {
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid"},
                "email": {"type": "string"},
                "display_name": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
            },
        },
        "access_token": {"type": "string"},
        "refresh_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
        "device_token": {"type": "string", "description": "keep it; send it at the next login"},
    },
}
_AUDIT_PAGE = {
    "type": "object",
    "required": ["entries", "next_before_seq"],
    "properties": {
        "entries": {"type": "array", "items": {"type": "object"}},
        "next_before_seq": {"type": ["integer", "null"]},
    },
}
_RESPONSES: dict[str, dict[str, Any]] = {
    "session": {
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="Session")}}}
    },
    "empty": {},
    "audit_page": {"content": {"application/json": {"schema": _AUDIT_PAGE}}},
    "audit_export": {
        "content": {
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            "text/csv": {"schema": {"type": "string"}},
        }
    },
    "document": {"content": {"application/json": {"schema": {"type": "object"}}}},
    "export": {
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/csv": {"schema": {"type": "string"}},
        }
    },
}


def openapi_document(routes: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": _ERROR, "Session": _SESSION}
    paths: dict[str, Any] = {}
    for path, route in routes.items():
        operation: dict[str, Any] = {
            "operationId": route.handler.__name__,
            "summary": route.summary,
            "x-boardroom-action": route.action.value,
            "responses": _responses(route),
        }
        if PERMISSIONS[route.action].scope is not Scope.PUBLIC:
            operation["security"] = [{"bearer": []}]
        parameters = [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "format": "uuid"},
            }
            for name in _path_names(path)
        ]
        if route.query is not None:
            parameters += _query_parameters(route.query, exclude=set(_path_names(path)))
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            schemas[route.body.__name__] = _schema(route.body, schemas)
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model=route.body.__name__)}}
                },
            }
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Boardroom REST API",
            "version": "1",
            "description": "Accounts and the audit trail over REST; everything else over "
            "Socket.IO (docs/protocol.md, docs/asyncapi.json). Errors use one `error` object.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF, schema_generator=CommandJsonSchema)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _query_parameters(model: type[BaseModel], exclude: set[str]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF, schema_generator=CommandJsonSchema)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": field}
        for name, field in schema["properties"].items()
        if name not in exclude
    ]


def _responses(route: Any) -> dict[str, Any]:
    status, kind = route.ok
    error = {"content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}
    responses: dict[str, Any] = {str(status): {"description": "success", **_RESPONSES[kind]}}
    for code in sorted(set(HTTP_STATUS.values())):
        if code == 413 and route.body is None:
            continue  # only a request body can be too large
        responses[str(code)] = {"description": "an error (see the error codes)", **error}
    return responses
