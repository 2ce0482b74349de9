"""The event pipeline under test: a server, the relay and the faust worker as real processes
against a real PostgreSQL, Redis and Kafka-protocol broker (tansu unless KAFKA_URL is set)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, TypeVar

from tests.support import ROOT

T = TypeVar("T")


class ChildProcess:
    """``boardroom <command>`` in its own process, its output kept in a file for diagnosis."""

    def __init__(self, command: str, env: dict[str, str], ready_line: str | None = None) -> None:
        self.command = command
        # Names this process in the spans it exports (tests/span_collector.py).
        self.instance_id = f"{command}-{uuid.uuid4().hex[:8]}"
        self.log = Path(tempfile.mkstemp(prefix=f"boardroom-{command}-", suffix=".log")[1])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "realtime.cli", command],
                env={
                    **os.environ,
                    "OTEL_RESOURCE_ATTRIBUTES": f"service.instance.id={self.instance_id}",
                    **env,
                },
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if ready_line:
            try:
                self.wait_for_line(ready_line, 60)
            except RuntimeError:
                self.stop()  # not ready: leave nothing running behind the failure
                raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.command}: no {text!r}; output:\n{self.output()[-4000:]}")

    def wait_exit(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when a container is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if os.environ.get("BOARDROOM_KEEP_LOGS"):
            print(f"--- {self.command} output ---\n{self.output()[-6000:]}")
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.unlink(missing_ok=True)


WORKER_READY = "Worker]: Ready"  # faust logs "[^<class name>]: Ready"


def start_worker(env: dict[str, str]) -> ChildProcess:
    return ChildProcess("worker", env, ready_line=WORKER_READY)


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float = 30,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``done(value)``; fail with the last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.1)
        value = await probe()
    return value


def pipeline_env(
    database_url: str, redis_url: str, kafka_url: str, prefix: str, channel: str
) -> dict[str, Any]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "KAFKA_URL": kafka_url,
        "BOARDROOM_KAFKA_TOPIC_PREFIX": prefix,
        "BOARDROOM_KAFKA_PARTITIONS": "4",
        "BOARDROOM_REDIS_CHANNEL": channel,
        "BOARDROOM_WORKER_TIMER_SECONDS": "1",
    }


def boardroom(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A one-shot ``boardroom`` command with ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "realtime.cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def audit_verify(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``boardroom audit verify`` against ``database_url``."""
    return boardroom({"DATABASE_URL": database_url}, "audit", "verify", *args)


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tests.support import free_port

        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))  # type: ignore[arg-type]
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]
