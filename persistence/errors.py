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

_CLOSED = "connection is closed"


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database went away. Besides ``DATABASE_UNAVAILABLE``, asyncpg
    raises a plain ``InterfaceError`` ("... connection is closed") when a transaction ends, or a
    query starts, on a connection the server has just dropped; every other ``InterfaceError``
    is a programming error."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return True
    return isinstance(exc, asyncpg.InterfaceError) and _CLOSED in str(exc)
