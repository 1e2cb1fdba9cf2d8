"""What every tool returns. A refusal is a result naming the rule, never an exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import sqlite_utils
from pydantic import BaseModel, Field

Status = Literal["ok", "denied", "needs_confirmation", "error"]


class ToolResult(BaseModel):
    status: Status
    tool: str = ""
    message: str = ""  # plain language, safe to relay to the customer
    data: dict[str, Any] = Field(default_factory=dict)
    rule: str | None = None  # denied: the policy parameter that decided, e.g. "returns.window_days"
    facts: dict[str, Any] = Field(default_factory=dict)  # denied: the facts that failed the rule
    alternatives: list[str] = Field(default_factory=list)  # denied: what the customer can do instead
    summary: str | None = None  # needs_confirmation: what will happen, with computed amounts

    def compact(self) -> dict[str, Any]:
        """The form a model sees: no empty fields."""
        return self.model_dump(exclude_none=True, exclude_defaults=True, exclude={"tool"})


def ok(message: str, **data: Any) -> ToolResult:
    return ToolResult(status="ok", message=message, data=data)


def denied(rule: str, message: str, *, facts: dict[str, Any] | None = None,
           alternatives: list[str] | None = None) -> ToolResult:
    return ToolResult(status="denied", rule=rule, message=message, facts=facts or {},
                      alternatives=alternatives or [])


def error(message: str, **data: Any) -> ToolResult:
    return ToolResult(status="error", message=message, data=data)


@dataclass
class Plan:
    """A validated write, not yet done. Write tools return one (or a denial) from a single function
    that is run twice: for the preview, and again inside the write transaction before `apply`, so the
    preview and the execution can never disagree about the rules."""

    summary: str  # for the customer's confirmation, with the computed amounts
    apply: Callable[[sqlite_utils.Database], dict[str, Any]]  # does the writes, returns result data
    done_message: str  # what to tell the customer after it ran
    data: dict[str, Any] = field(default_factory=dict)  # computed values shown with the preview
