"""The dev-mode demo account: a workspace with one board, created through the real services."""

from __future__ import annotations

import logging
import uuid

from application.auth_service import AuthService
from application.board_service import BoardService
from domain import commands as c
from domain.errors import Conflict

log = logging.getLogger(__name__)

DEMO_EMAIL = "demo@boardroom.dev"
DEMO_PASSWORD = "boardroom-demo"  # dev mode only; never seeded in production


def _op() -> str:
    return f"seed-{uuid.uuid4().hex}"


async def seed_demo(auth: AuthService, board: BoardService) -> None:
    """Create the demo account and its board unless they exist (an earlier start made them)."""
    try:
        session = await auth.register(
            c.Register(email=DEMO_EMAIL, password=DEMO_PASSWORD, display_name="Demo User")
        )
    except Conflict:
        session = await auth.login(c.Login(email=DEMO_EMAIL, password=DEMO_PASSWORD))
    user = session.user.id
    if await board.list_workspaces(user):
        return
    ws = await board.create_workspace(user, c.CreateWorkspace(op_id=_op(), name="Demo workspace"))
    project = await board.create_project(
        user, c.CreateProject(op_id=_op(), workspace_id=ws.result["id"], name="Welcome board")
    )
    project_id = project.result["id"]
    first_column = None
    for name in ("To do", "Doing", "Done"):
        outcome = await board.create_column(
            user, c.CreateColumn(op_id=_op(), project_id=project_id, name=name)
        )
        first_column = first_column or outcome.result["id"]
    assert first_column is not None
    for title in ("Drag me to Doing", "Open this board in a second browser", "Rename me"):
        await board.create_task(
            user,
            c.CreateTask(op_id=_op(), project_id=project_id, column_id=first_column, title=title),
        )
    log.info("seeded the demo account %s", DEMO_EMAIL)
