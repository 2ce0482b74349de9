#!/usr/bin/env python3
"""Print the JSON lines written by ``bench_rooms.py --json-out`` as one Markdown table.

.venv/bin/python loadtests/summarize.py results.jsonl [more.jsonl ...]
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _f(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def rows(paths: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in paths:
        with open(path) as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def table(results: list[dict[str, Any]]) -> str:
    head = (
        "| server | rooms x size | target ops/s | achieved ops/s | delivery p50 / p95 / p99 ms "
        "| ack p50 / p99 ms | errors | server CPU % | client CPU % | machine busy % (steal) |"
    )
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in results:
        d, a = r["delivery_ms"], r["ack_ms"]
        e = r["errors"]
        err = r["error_total"] + e["missing_deliveries"]
        err_text = str(err)
        if err:
            parts = [f"{k}={v}" for k, v in e.items() if v and k != "ack_error"]
            parts += [f"{k}={v}" for k, v in (e["ack_error"] or {}).items()]
            err_text += " (" + ", ".join(parts) + ")"
        lines.append(
            f"| {r['label']} | {r['rooms']} x {r['room_size']} | {r['target_rate']:g} "
            f"| {_f(r['achieved_ops_per_s'])} "
            f"| {_f(d['p50'])} / {_f(d['p95'])} / {_f(d['p99'])} "
            f"| {_f(a['p50'])} / {_f(a['p99'])} | {err_text} "
            f"| {_f(r['server_cpu_percent'])} "
            f"| {' + '.join(_f(c) for c in r['client']['cpu_percent_per_process'])} "
            f"| {_f(r['machine']['busy_percent'])} ({_f(r['machine'].get('steal_percent'))}) |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(rows(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
