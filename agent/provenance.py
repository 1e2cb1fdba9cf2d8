"""Arguments must come from somewhere: an order id, email or zip code in a tool call must appear in
the customer's messages or an earlier tool result. Otherwise the runtime asks instead of calling."""

from __future__ import annotations

from typing import Any

from agent.guard import order_ids
from tools.values import normalize_order_id

QUESTIONS = {
    "order_id": "Which order is this about? Please give me the order number (it starts with W, "
                "for example in your confirmation email).",
    "email": "What is the email address on your account?",
    "zip_code": "What is the zip code of your account's address?",
}


def unsourced_argument(arguments: dict[str, Any], evidence: str) -> str | None:
    """The name of the first argument whose value nobody gave, or None when all are sourced."""
    lowered = evidence.lower()
    known_orders = order_ids(evidence)
    for name, value in arguments.items():
        if value in (None, "") or name not in QUESTIONS:
            continue
        if name == "order_id":
            if normalize_order_id(str(value)) not in known_orders:
                return name
        elif str(value).strip().lower() not in lowered:
            return name
    return None
