"""Locust scenario: teams working on shared boards, as people do (ROADMAP: load testers).

Each simulated user is its own account. Users come in teams of ``--board-size``: the first of
a team registers over REST, creates a workspace, a project and three columns over Socket.IO,
and invites the others by e-mail (as editors of the project); the others register with the
invited address (which accepts the invitation), connect and join the board. Then everyone
keeps working: creates tasks, renames them and moves them between columns, with a pause
between actions; the team's first member also exports the board now and then.

Every acknowledged Socket.IO event is reported to Locust as a request of type ``socket.io``
named after the event (ack time, and failures with the error code), beside the REST calls, so
Locust's statistics and charts show both. Delivery latency to the other members is what
``bench_rooms.py`` measures; this scenario is for realistic mixes, ramp-ups and soak runs.

Run it as its own process, never inside the server or the tests (locust patches sockets):

    python -m venv .venv-load && .venv-load/bin/pip install -r loadtests/requirements-locust.txt
    .venv-load/bin/locust -f loadtests/locustfile.py --host http://127.0.0.1:8080 \\
        --headless -u 100 -r 10 -t 2m --board-size 10

Teams are coordinated in this process's memory: run it with one process (no ``--processes``
or distributed workers). The server's Origin allowlist must contain ``--host``
(``BOARDROOM_PUBLIC_URL`` or ``BOARDROOM_ALLOWED_ORIGINS``).
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio
from gevent.event import Event
from locust import HttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = "load test password 1"


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument("--board-size", type=int, default=10, help="people per shared board")


@dataclass
class Team:
    """One shared board and the addresses invited to it."""

    size: int
    emails: list[str]
    ready: Event = field(default_factory=Event)
    project_id: str = ""
    columns: list[str] = field(default_factory=list)


_teams: dict[int, Team] = {}
_seats = itertools.count()


def _seat(size: int) -> tuple[Team, int]:
    """The next user's team and place in it (0: the one who makes the board)."""
    seat = next(_seats)
    number, place = divmod(seat, size)
    if number not in _teams:
        run = uuid.uuid4().hex[:8]
        emails = [f"load-{run}-{n}@boardroom.test" for n in range(size)]
        _teams[number] = Team(size, emails)
    return _teams[number], place


class BoardMember(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.team, self.place = _seat(self.environment.parsed_options.board_size)
        self.tasks_known: dict[str, int] = {}  # task id -> version, for task:update
        if self.place != 0 and not self.team.ready.wait(timeout=60):
            raise StopUser()  # the team's board was never made
        self.token, self.refresh_token = self._register(self.team.emails[self.place])
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("session:expired", self._renew)
        self.sio.connect(
            self.host,
            auth={"token": self.token},
            transports=["websocket"],  # websocket-client sends Origin: --host itself
            wait_timeout=10,
        )
        if self.place == 0:
            self._make_board()
        self._emit("project:join", {"project_id": self.team.project_id})

    def on_stop(self) -> None:
        sio = getattr(self, "sio", None)
        if sio is not None and sio.connected:
            sio.disconnect()

    def _register(self, email: str) -> tuple[str, str]:
        body = {"email": email, "password": PASSWORD, "display_name": email.split("@")[0]}
        with self.client.post("/api/v1/auth/register", json=body, catch_response=True) as resp:
            if resp.status_code != 201:
                resp.failure(f"register: {resp.status_code} {resp.text[:200]}")
                raise StopUser()
            session = resp.json()
            return str(session["access_token"]), str(session["refresh_token"])

    def _renew(self, data: Any = None) -> None:
        """Access tokens last 15 minutes: refresh over REST and hand the new one to the socket,
        as the browser board does, so soak runs keep their connections."""
        body = {"refresh_token": self.refresh_token}
        with self.client.post("/api/v1/auth/refresh", json=body, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"refresh: {resp.status_code}")
                return
            session = resp.json()
        self.token, self.refresh_token = session["access_token"], session["refresh_token"]
        self._emit("session:renew", {"access_token": self.token})

    def _make_board(self) -> None:
        workspace = self._emit("workspace:create", {"name": "Load test"})
        project = self._emit(
            "project:create", {"workspace_id": workspace["id"], "name": "Shared board"}
        )
        self.team.project_id = project["id"]
        for name in ("To do", "Doing", "Done"):
            column = self._emit("column:create", {"project_id": project["id"], "name": name})
            self.team.columns.append(column["id"])
        for email in self.team.emails[1:]:
            self._emit(
                "member:invite",
                {
                    "workspace_id": workspace["id"],
                    "email": email,
                    "role": "member",
                    "project_id": project["id"],
                    "project_role": "editor",
                },
            )
        self.team.ready.set()

    def _emit(self, event: str, payload: dict[str, Any]) -> Any:
        """Send one event and report its ack to Locust; the ack's data, or None on failure."""
        if event not in ("project:join", "session:renew"):
            payload = {"op_id": uuid.uuid4().hex, **payload}
        started = time.perf_counter()
        error: Exception | None = None
        reply: Any = None
        try:
            reply = self.sio.call(event, payload, timeout=10)
            if not reply.get("ok"):
                error = RuntimeError(reply.get("error", {}).get("code", "error"))
        except Exception as exc:  # a timeout or a dropped connection
            error = exc
        self.environment.events.request.fire(
            request_type="socket.io",
            name=event,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=error,
            context={},
        )
        return reply.get("data") if error is None and reply else None

    def _remember(self, task_data: Any) -> None:
        if isinstance(task_data, dict) and "id" in task_data and "version" in task_data:
            self.tasks_known[task_data["id"]] = task_data["version"]

    @task(5)
    def create_task(self) -> None:
        self._remember(
            self._emit(
                "task:create",
                {
                    "project_id": self.team.project_id,
                    "column_id": random.choice(self.team.columns),
                    "title": f"Task {random.randrange(1_000_000)}",
                },
            )
        )

    @task(3)
    def rename_task(self) -> None:
        self._change(
            "task:update",
            lambda task_id: {
                "base_version": self.tasks_known[task_id],
                "title": f"Renamed {random.randrange(1_000_000)}",
            },
        )

    @task(2)
    def move_task(self) -> None:
        self._change(
            "task:move",
            lambda task_id: {"column_id": random.choice(self.team.columns), "after_id": None},
        )

    def _change(self, event: str, fields: Callable[[str], dict[str, Any]]) -> None:
        """``event`` on one of the tasks this user made (a new one if it has none yet)."""
        if not self.tasks_known:
            self.create_task()
            return
        task_id = random.choice(list(self.tasks_known))
        payload = {"project_id": self.team.project_id, "task_id": task_id, **fields(task_id)}
        self._remember(self._emit(event, payload))

    @task(1)
    def export_board(self) -> None:
        if self.place != 0:  # exports are for the board's manager
            return
        self.client.get(
            f"/api/v1/projects/{self.team.project_id}/export?format=json",
            headers={"Authorization": f"Bearer {self.token}"},
            name="/api/v1/projects/{project_id}/export",
        )
