"""Pure rules of the event pipeline: the audit hash chain and who is notified, no services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from domain.audit_chain import GENESIS, link, verify_chain
from domain.events import EventType
from domain.integration import SYSTEM_CHAIN, IntegrationEvent, Origin, SecurityEventType
from domain.notification_rules import Reason, recipients

CHAIN = uuid.uuid4()


def _chain(length: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    prev = GENESIS
    for seq in range(1, length + 1):
        row: dict[str, Any] = {
            "chain_id": CHAIN,
            "seq": seq,
            "event_id": uuid.uuid4(),
            "kind": "project",
            "type": "task.created",
            "occurred_at": datetime(2026, 11, 25, 12, 0, seq, tzinfo=UTC),
            "recorded_at": datetime(2026, 11, 25, 12, 0, seq, 500, tzinfo=UTC),
            "actor_id": uuid.uuid4(),
            "workspace_id": CHAIN,
            "project_id": uuid.uuid4(),
            "outcome": "success",
            "origin": {"transport": "socket.io"},
            "correlation_id": None,
            "data": {"title": f"task {seq}"},
            "prev_hash": prev,
        }
        row["hash"] = prev = link(prev, row)
        rows.append(row)
    return rows


def _head(rows: list[dict[str, Any]]) -> tuple[int, bytes]:
    return rows[-1]["seq"], rows[-1]["hash"]


def test_an_intact_chain_verifies():
    rows = _chain(5)
    assert verify_chain(CHAIN, rows, _head(rows)) == []


def test_an_edited_field_breaks_its_row():
    rows = _chain(5)
    rows[2] = {**rows[2], "data": {"title": "rewritten"}}
    problems = verify_chain(CHAIN, rows, _head(rows))
    assert [(p.seq, p.problem) for p in problems] == [(3, "hash does not match the row (edited)")]


def test_a_row_edited_with_a_recomputed_hash_breaks_the_next_link():
    rows = _chain(5)
    forged = {**rows[2], "data": {"title": "rewritten"}}
    forged["hash"] = link(forged["prev_hash"], forged)
    rows[2] = forged
    problems = verify_chain(CHAIN, rows, _head(rows))
    assert [(p.seq, p.problem) for p in problems] == [
        (4, "prev_hash does not match the previous row")
    ]


def test_deleted_rows_are_found_in_the_middle_and_at_the_end():
    rows = _chain(5)
    head = _head(rows)
    middle = verify_chain(CHAIN, rows[:2] + rows[3:], head)
    assert (4, "expected row 3 (missing rows)") in [(p.seq, p.problem) for p in middle]
    tail = verify_chain(CHAIN, rows[:4], head)
    assert [p.problem for p in tail] == ["head names row 5, last row is 4 (rows removed)"]


def test_timestamps_hash_the_same_in_any_time_zone():
    row = _chain(1)[0]
    from datetime import timedelta, timezone

    shifted = {**row, "occurred_at": row["occurred_at"].astimezone(timezone(timedelta(hours=5)))}
    assert link(GENESIS, shifted) == link(GENESIS, row)


ACTOR, ASSIGNEE, WATCHER, MENTIONED, OUTSIDER = (uuid.uuid4() for _ in range(5))
READERS = {ACTOR, ASSIGNEE, WATCHER, MENTIONED}


def test_an_assignment_notifies_the_assignee_and_the_other_watchers():
    found = recipients(
        EventType.TASK_ASSIGNED,
        {"task_id": str(uuid.uuid4()), "user_id": str(ASSIGNEE)},
        ACTOR,
        watchers=[ASSIGNEE, WATCHER, ACTOR],
        readers=READERS,
    )
    assert found == {ASSIGNEE: Reason.ASSIGNED, WATCHER: Reason.CHANGED}


def test_a_comment_notifies_mentions_first_then_watchers_never_the_author_or_outsiders():
    found = recipients(
        EventType.COMMENT_CREATED,
        {"task_id": str(uuid.uuid4()), "mentions": [str(MENTIONED), str(OUTSIDER), "junk"]},
        ACTOR,
        watchers=[MENTIONED, WATCHER, ACTOR, OUTSIDER],
        readers=READERS,
    )
    assert found == {MENTIONED: Reason.MENTIONED, WATCHER: Reason.COMMENTED}


def test_events_nobody_follows_notify_nobody():
    assert recipients(EventType.LABEL_CREATED, {}, ACTOR, [WATCHER], READERS) == {}
    assert recipients(EventType.CHECKLIST_ITEM_TOGGLED, {}, ACTOR, [WATCHER], READERS) == {}


def test_security_events_go_to_their_workspace_chain_or_the_system_chain():
    workspace = uuid.uuid4()
    in_workspace = IntegrationEvent.security(
        SecurityEventType.MEMBER_INVITED,
        actor_id=ACTOR,
        workspace_id=workspace,
        origin=Origin(transport="rest"),
        correlation_id="abc",
        data={},
    )
    login = IntegrationEvent.security(
        SecurityEventType.LOGIN_FAILED,
        actor_id=None,
        workspace_id=None,
        origin=Origin(),
        correlation_id=None,
        data={"email": "x@example.com"},
        outcome="failure",
    )
    assert (in_workspace.chain_id, in_workspace.key) == (workspace, str(workspace))
    assert login.chain_id == SYSTEM_CHAIN and login.topic == "security-events"
    assert IntegrationEvent.model_validate_json(login.model_dump_json()) == login


def test_docs_events_lists_every_event_type():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "events.md").read_text()
    missing = [t.value for t in [*EventType, *SecurityEventType] if f"`{t.value}`" not in text]
    assert missing == []


def test_mentions_are_written_with_names_in_plain_text():
    from domain.mentions import render_mentions

    known, unknown = uuid.uuid4(), uuid.uuid4()
    text = f"<@{known}> and <@{unknown}>, see <@not-a-uuid-at-all-but-36-chars-long!!>"
    assert render_mentions(text, {known: "Ann"}) == (
        f"@Ann and <@{unknown}>, see <@not-a-uuid-at-all-but-36-chars-long!!>"
    )
