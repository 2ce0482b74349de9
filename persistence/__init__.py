"""PostgreSQL adapters: the pool, migrations and repositories (SQL built with pypika).

Repositories take a connection, so the application layer owns transaction boundaries; they return
domain objects or ``None`` and raise only the plain errors of ``persistence.errors``.
"""
