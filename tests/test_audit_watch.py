"""The worker's stall watch and the outbox repair ranges: pure logic, no services."""

from __future__ import annotations

from application.outbox_repair import contiguous_ranges
from persistence.audit_coverage import Arrears
from streams.audit_watch import AuditWatch, stalled_in_exposition


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_worker_is_stalled_only_while_events_wait_and_its_audit_agent_is_idle() -> None:
    clock = Clock()
    watch = AuditWatch(stall_after=60, clock=clock)
    behind = Arrears(count=3, oldest_seconds=90)

    clock.now += 59
    assert not watch.assess(behind)  # idle, but not yet for the whole period
    clock.now += 2
    assert watch.assess(behind)
    assert watch.stalled
    watch.progressed()  # the agent finished a message: it is moving again
    assert not watch.assess(behind)
    clock.now += 61
    assert not watch.assess(Arrears(0, 0.0))  # idle with nothing to do is not a stall
    assert watch.assess(behind)
    assert watch.arrears == behind


def test_the_health_check_reads_the_stalled_gauge_from_the_exposition() -> None:
    text = (
        "# HELP boardroom_worker_stalled 1 while ...\n"
        "# TYPE boardroom_worker_stalled gauge\n"
        'boardroom_worker_stalled{otel_scope_name="boardroom"} %s\n'
        "boardroom_worker_stalled_other 1.0\n"
    )
    assert stalled_in_exposition(text % "1.0")
    assert not stalled_in_exposition(text % "0.0")
    assert not stalled_in_exposition("boardroom_consumer_lag 5\n")


def test_outbox_ids_become_the_ranges_an_operator_republishes() -> None:
    assert contiguous_ranges([9, 3, 4, 5, 4, 11, 12]) == [(3, 5), (9, 9), (11, 12)]
    assert contiguous_ranges([]) == []
