"""The alert rules and the dashboard refer only to metrics the server exports, and every alert
has a runbook (deploy/observability/, docs/operations.md)."""

from __future__ import annotations

import json
import re

import yaml

from realtime.metrics import Metrics
from streams.audit_watch import AuditWatch
from streams.worker_metrics import WorkerMetrics
from tests.support import ROOT, connect, make_board

OBSERVABILITY = ROOT / "deploy" / "observability"
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _referenced(text: str) -> set[str]:
    return {_base(m) for m in re.findall(r"\bboardroom_[a-z_]+", text)}


async def _exported(api, base_url) -> set[str]:
    account = await api.register("scraper")
    client = await connect(base_url, account.access_token)
    await make_board(client)
    await client.sio.disconnect()
    async with api.http.get(f"{base_url}/readyz"):
        pass
    async with api.http.get(f"{base_url}/metrics") as resp:
        text = await resp.text()
    return {_base(m) for m in re.findall(r"^(boardroom_[a-z_]+)", text, re.MULTILINE)}


def _exported_by_the_worker() -> set[str]:
    """The worker's metrics, through the same SDK set-up as ``boardroom worker``."""
    metrics = Metrics()
    worker = WorkerMetrics(AuditWatch(120), metrics.meter)
    worker.outcome("audit", "processed")
    worker.processed("audit", 0.01)
    worker.set_lag({("boardroom.project-events", 0): 0})
    text = metrics.exposition().decode()
    metrics.shutdown()
    return {_base(m) for m in re.findall(r"^(boardroom_[a-z_]+)", text, re.MULTILINE)}


async def test_alerts_and_dashboard_use_only_exported_metrics(api, base_url):
    exported = await _exported(api, base_url) | _exported_by_the_worker()
    rules = (OBSERVABILITY / "alerts.rules.yml").read_text()
    dashboard = (OBSERVABILITY / "grafana-dashboard.json").read_text()
    json.loads(dashboard)
    assert _referenced(rules) <= exported, _referenced(rules) - exported
    assert _referenced(dashboard) <= exported, _referenced(dashboard) - exported


def test_every_alert_is_complete_and_has_a_runbook():
    rules = yaml.safe_load((OBSERVABILITY / "alerts.rules.yml").read_text())
    runbooks = (ROOT / "docs" / "operations.md").read_text()
    headings = {
        line[4:].strip().lower() for line in runbooks.splitlines() if line.startswith("### ")
    }
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 10
    for alert in alerts:
        assert alert["expr"] and alert["for"] and alert["labels"]["severity"] in ("page", "ticket")
        anchor = alert["annotations"]["runbook"].split("#", 1)[1]
        assert anchor == alert["alert"].lower() and anchor in headings, alert["alert"]
