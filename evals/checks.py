"""The scenario's own expectations, other than the store: tool calls (from the audit log), replies
(what the customer saw) and who the session was verified as. Each failure carries the turn it is
about when there is one (None: the conversation as a whole)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from evals.scenario import Expect, ReplyCheck, ToolExpect
from evals.store_state import value_matches

RAN = ("read", "preview", "execute")


def _args(row: dict[str, Any]) -> Any:
    try:
        return json.loads(row.get("arguments") or "{}")
    except ValueError:
        return row.get("arguments")


def call_matches(spec: ToolExpect, row: dict[str, Any], *, now: datetime, default_phases: tuple[str, ...] | None) -> bool:
    if row["tool"] not in spec.tools:
        return False
    phases = spec.phases(default_phases)
    if phases is not None and row["phase"] not in phases:
        return False
    if spec.status is not None and row["status"] != spec.status:
        return False
    if spec.rule is not None and row.get("rule") != spec.rule:
        return False
    args = _args(row)
    if spec.args and not isinstance(args, dict):
        return False
    return all(k in args and value_matches(v, args[k], now=now, loose_strings=True) for k, v in spec.args.items())


def describe_call(spec: ToolExpect) -> str:
    parts = ["|".join(spec.tools)]
    if spec.args:
        parts.append(json.dumps(spec.args, sort_keys=True, default=str))
    for name in ("phase", "status", "rule"):
        if getattr(spec, name) is not None:
            parts.append(f"{name}={getattr(spec, name)}")
    return " ".join(parts)


def describe_row(row: dict[str, Any]) -> str:
    rule = f" rule={row['rule']}" if row.get("rule") else ""
    return f"{row['tool']} {row.get('arguments')} [{row['phase']}/{row['status']}{rule}]"


def check_tool_calls(expect: Expect, audit: list[dict[str, Any]], now: datetime, turn_of) -> list[tuple[str, str, int | None]]:
    """(check, message, turn) for every unmet `tool_calls` and every hit of `no_tool_calls`."""
    out = []
    for spec in expect.tool_calls:
        hits = [r for r in audit if call_matches(spec, r, now=now, default_phases=None)]
        if spec.count is not None and len(hits) != spec.count:
            seen = "; ".join(describe_row(r) for r in hits) or "none"
            out.append(("tool_call", f"expected {describe_call(spec)} exactly {spec.count} time(s), "
                        f"found {len(hits)} ({seen})", turn_of(hits[-1]["turn"]) if hits else None))
        elif spec.count is None and not hits:
            same_tool = [r for r in audit if r["tool"] in spec.tools]
            seen = "; ".join(describe_row(r) for r in same_tool) or f"{'|'.join(spec.tools)} was never called"
            out.append(("tool_call", f"expected a call {describe_call(spec)}; {seen}",
                        turn_of(same_tool[0]["turn"]) if same_tool else None))
    for spec in expect.no_tool_calls:
        for r in audit:
            if call_matches(spec, r, now=now, default_phases=RAN):
                out.append(("no_tool_call", f"forbidden call {describe_call(spec)} happened: {describe_row(r)}",
                            turn_of(r["turn"])))
    return out


def check_replies(checks: list[ReplyCheck], replies: list[str]) -> list[tuple[str, str, int | None]]:
    """`replies[i]` is the agent's reply to customer turn i + 1."""
    out = []
    for check in checks:
        if check.turn is not None:
            if check.turn > len(replies):
                out.append(("reply", f"{check.describe()}: the conversation has only {len(replies)} turn(s)", None))
                continue
            scope = [(check.turn, replies[check.turn - 1])]
        elif check.scope == "last":
            scope = [(len(replies), replies[-1] if replies else "")]
        else:
            scope = list(enumerate(replies, 1))
        flags = 0 if check.case_sensitive else re.I
        positive = check.kind in ("contains", "regex")
        for needle in check.needles:
            if check.kind in ("contains", "not_contains"):
                pattern = re.compile(re.escape(needle), flags)
            else:
                pattern = re.compile(needle, flags)
            found = [(turn, text) for turn, text in scope if pattern.search(text or "")]
            if positive and not found:
                turn = scope[0][0] if len(scope) == 1 else None
                out.append(("reply", f"expected {check.describe()}; it does not"
                            + (f" (reply: {_clip(scope[0][1])!r})" if len(scope) == 1 else ""), turn))
            if not positive:
                for turn, text in found:
                    match = pattern.search(text).group(0)
                    out.append(("reply", f"expected {check.describe()}; the reply says {match!r}: {_clip(text)!r}", turn))
    return out


def _clip(text: str, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
