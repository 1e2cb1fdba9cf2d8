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


_LABELS = {
    "verify_customer": "Checking your details",
    "get_order": "Looking up order {order_id}",
    "list_orders": "Looking up your orders",
    "track_shipment": "Tracking order {order_id}",
    "cancel_order": "Preparing the cancellation of {order_id}",
    "modify_order_address": "Preparing the address change for {order_id}",
    "modify_order_items": "Preparing the item change for {order_id}",
    "check_refund_eligibility": "Checking whether {order_id} can be returned",
    "start_return": "Preparing a return for {order_id}",
    "issue_refund": "Preparing a refund for {order_id}",
    "report_lost_package": "Preparing a lost-package claim for {order_id}",
    "file_complaint": "Filing your complaint",
    "escalate_to_human": "Handing over to a human agent",
    "search_help_center": "Searching the help center",
    "update_account": "Preparing the account update",
    "send_password_reset": "Sending a password reset link",
}


def activity_label(tool: str, arguments: dict[str, Any] | str) -> str:
    template = _LABELS.get(tool, f"Running {tool}")
    args = arguments if isinstance(arguments, dict) else {}
    try:
        return template.format(**{k: v for k, v in args.items() if isinstance(v, (str, int))}) + "..."
    except (KeyError, IndexError):
        return template.split(" {")[0].replace(" of", "").replace(" for", "") + "..."
