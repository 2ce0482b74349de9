"""The AsyncAPI 3.0 document of the Socket.IO protocol, generated from the event table and the
pydantic command models, for mobile teams to code against (docs/asyncapi.json, kept equal to
this by a test; docs/protocol.md explains the semantics)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

from domain.commands import CommandJsonSchema
from domain.models import Notification, ProjectEvent
from handlers.errors import ERROR_OBJECT_SCHEMA
from handlers.socket_events import EVENTS

_REF = "#/components/schemas/{model}"

# Server -> client events: name -> (description, payload schema).
_OBJECT: dict[str, Any] = {"type": "object"}
SERVER_EVENTS: dict[str, tuple[str, Any]] = {
    "event": ("A committed project event, in `seq` order per project.", ProjectEvent),
    "presence": ("The viewers of a joined project, whenever they change.", _OBJECT),
    "notification": ("A notification for this user, pushed live.", Notification),
    "access:revoked": ("You can no longer see these projects.", _OBJECT),
    "access:changed": ("Your role or membership changed.", _OBJECT),
    "session:ended": ("This login ended (logout, reuse, password change); disconnecting.", _OBJECT),
    "session:expired": ("The access token expired; send session:renew within the grace.", _OBJECT),
}

_ACK = {
    "oneOf": [
        {
            "type": "object",
            "required": ["ok", "data"],
            "properties": {"ok": {"const": True}, "data": {}, "seq": {"type": "integer"}},
        },
        {
            "type": "object",
            "required": ["ok", "error"],
            "properties": {
                "ok": {"const": False},
                "error": ERROR_OBJECT_SCHEMA,
            },
        },
    ]
}


def _key(name: str) -> str:
    return re.sub(r"[^\w.\-]", "_", name)


def asyncapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Ack": _ACK}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for name, spec in EVENTS.items():
        key = _key(name)
        messages[key] = {
            "name": name,
            "title": name,
            "summary": f"permission-table action `{spec.action.value}` (docs/permissions.md)",
            "payload": {"$ref": _REF.format(model=_model_schema(spec.model, schemas))},
        }
        operations[key] = {
            "action": "send",
            "channel": {"$ref": "#/channels/socket"},
            "messages": [{"$ref": f"#/channels/socket/messages/{key}"}],
            "reply": {"messages": [{"$ref": "#/channels/socket/messages/ack"}]},
        }
    messages["ack"] = {"name": "ack", "payload": {"$ref": _REF.format(model="Ack")}}
    for name, (description, payload) in SERVER_EVENTS.items():
        key = f"server_{_key(name)}"
        schema = payload if isinstance(payload, dict) else _dataclass_schema(payload, schemas)
        messages[key] = {"name": name, "summary": description, "payload": schema}
        operations[key] = {
            "action": "receive",
            "channel": {"$ref": "#/channels/socket"},
            "messages": [{"$ref": f"#/channels/socket/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Boardroom real-time protocol",
            "version": "1",
            "description": "Socket.IO v5 (WebSocket transport). Every client event is "
            "acknowledged with an `Ack`. Connect with `auth: {token: <access token>}`. "
            "Semantics, limits and client rules: docs/protocol.md.",
        },
        "servers": {
            "boardroom": {
                "host": "boardroom.example.com",
                "protocol": "wss",
                "pathname": "/socket.io/",
            }
        },
        "channels": {"socket": {"address": "/socket.io/", "messages": messages}},
        "operations": operations,
        "components": {"schemas": schemas},
    }


def _model_schema(model: type[BaseModel], schemas: dict[str, Any]) -> str:
    schema = model.model_json_schema(ref_template=_REF, schema_generator=CommandJsonSchema)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return model.__name__


def _dataclass_schema(cls: type, schemas: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(cls).json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[cls.__name__] = schema
    return {"$ref": _REF.format(model=cls.__name__)}
