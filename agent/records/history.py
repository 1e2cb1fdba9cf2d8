"""The model's view of a conversation's stored messages, repaired after a crash.

A worker that died during a tool call leaves an assistant message whose `tool_calls` have no `tool`
answer; OpenAI-compatible servers reject such a history. The rows are repaired, not trusted: an
assistant message keeps only the calls that were answered (none left and no text: dropped), and a
tool answer whose call is missing is dropped.
"""

from __future__ import annotations

import json
from typing import Any

Row = dict[str, Any]


def model_history(rows: list[Row]) -> list[Row]:
    """`rows`: stored messages in order (a window of the newest may start mid-exchange)."""
    answered = {r["tool_call_id"] for r in rows if r["role"] == "tool" and r.get("tool_call_id")}
    kept: list[Row] = []
    calls_seen: set[str] = set()
    for row in rows:
        if row["role"] == "tool":
            if row.get("tool_call_id") in calls_seen:
                kept.append(row)
            continue
        if row["role"] == "assistant" and row.get("tool_calls"):
            calls = [c for c in json.loads(row["tool_calls"]) if c.get("id") in answered]
            calls_seen |= {c["id"] for c in calls}
            if not calls and not (row.get("content") or "").strip():
                continue
            row = {**row, "tool_calls": json.dumps(calls) if calls else None}
        kept.append(row)
    while kept and kept[0]["role"] != "user":  # a window never starts inside an exchange
        kept.pop(0)
    return kept
