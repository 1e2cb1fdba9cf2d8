"""What is written to the agent's records (agent/records/) and how: card numbers masked, JSON kept
stable. The runtime keeps no state between turns in memory that is not also in the records, so a
session can be resumed after the process died, on any worker."""

from __future__ import annotations

import json
from typing import Any

from tools.masking import mask_card_numbers


def redact(text: str | None) -> str | None:
    """Payment card numbers never reach transcripts or logs: masked to their last four digits."""
    return mask_card_numbers(text)


def dumps(value: Any) -> str:
    return redact(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)) or ""


AUDIT_COLUMNS = ("conversation_id", "turn", "at", "tool", "arguments", "phase", "status", "rule", "message",
                 "customer_id", "action_id", "confirmed_by")


def audit_row(conversation_id: str, turn: int, at: str, customer_id: str | None, tool: str, args: Any, *,
              phase: str, result: Any = None, status: str | None = None, message: str | None = None,
              action_id: str | None = None, confirmed_by: str | None = None) -> dict[str, Any]:
    """One audit-log row: a tool call (arguments, outcome, rule) or a step of the runtime, redacted."""
    return {"conversation_id": conversation_id, "turn": turn, "at": at, "tool": tool, "arguments": dumps(args),
            "phase": phase, "status": status or (result.status if result else None),
            "rule": result.rule if result else None, "customer_id": customer_id, "action_id": action_id,
            "message": redact(message or (result.message if result else None)), "confirmed_by": confirmed_by}
