"""Plain storage errors: no HTTP status, no wire code. The layers above translate them."""

import asyncpg


class DuplicateKey(Exception):
    """A unique constraint refused the row (for example an e-mail address already registered)."""


DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # connection refused or reset: the server is down or unreachable
    TimeoutError,  # no connection, or no answer, in time
    asyncpg.exceptions.PostgresConnectionError,  # the connection broke mid-operation
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, starting up, crashed
    asyncpg.exceptions.TooManyConnectionsError,
)
"""Errors that mean "PostgreSQL is not available now", not "this request is wrong": the
operation did not happen and can be retried (wire code ``unavailable``)."""
