"""orjson behind the ``json`` module interface that python-socketio expects; a payload nested
deeper than ``MAX_NESTING`` does not decode (the packet then becomes an ``invalid_payload``
answer, realtime/packets.py)."""

from __future__ import annotations

from typing import Any

import orjson

from domain.commands import MAX_NESTING, too_deep


def dumps(obj: Any, **_: Any) -> str:
    return orjson.dumps(obj, default=str).decode()


def loads(data: str | bytes, **_: Any) -> Any:
    value = orjson.loads(data)
    if too_deep(value):
        raise ValueError(f"nested deeper than {MAX_NESTING} levels")
    return value
