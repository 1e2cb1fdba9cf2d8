"""What a turn produces: events for streaming UIs, the pending action, and the reply."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

EventType = Literal[
    "text_delta",  # data: {"text": chunk}
    "text_reset",  # the streamed text so far was withdrawn (reply guard); a new text follows
    "tool_call",  # data: {"tool", "arguments", "label"}
    "tool_result",  # data: {"tool", "status", "rule", "message"}
    "confirmation_requested",  # data: {"action_id", "tool", "summary"}
    "action_resolved",  # data: {"action_id", "status": executed|declined|failed, "message"}
    "turn_done",  # data: {"text", "pending_action"}
    "error",  # data: {"message"}
]


class Event(BaseModel):
    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)


class PendingAction(BaseModel):
    id: str
    tool: str
    arguments: dict[str, Any]
    summary: str
    status: Literal["pending", "executed", "declined", "failed"] = "pending"


class Reply(BaseModel):
    session_id: str
    text: str
    events: list[Event] = Field(default_factory=list)
    pending_action: PendingAction | None = None

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [e.data for e in self.events if e.type == "tool_call"]
