"""Stateless scripted understandings for running the server without a model (tests, benchmarks):

    support-agent serve --model scripted:agent.models.scripted_steps:shop_customer

`shop_customer` understands the few messages a demo-store customer sends in the benchmarks and the
server tests ("Hi, I'm EMAIL, zip ZIP", "What's the status of order W1003?", "Please cancel W1001",
"yes" / "no" to a pending change, anything else as smalltalk). It reads the message alone, so any
number of sessions and worker processes share it. A test double: the real understanding is the
model's, never a pattern.
"""

from __future__ import annotations

import re
from typing import Any

_EMAIL_ZIP = re.compile(r"I'm (\S+@\S+?), zip (\d{5})")
_ORDER = re.compile(r"\b(W\d+)\b")
_ANSWERS = {"yes": "yes", "yes please": "yes", "no": "no", "no thanks": "no"}


def customer_text(messages: list[dict[str, Any]]) -> str:
    """The customer's message in the understanding step's prompt (its last line, `Customer: ...`)."""
    return messages[-1]["content"].rpartition("Customer: ")[2]


def shop_customer(messages: list[dict[str, Any]], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The understanding of the customer's message: a login, get_order, cancel_order, a yes / no to
    the pending change (when the schema asks for an answer), else smalltalk."""
    text = customer_text(messages)
    pending = schema is not None and "anyOf" in schema
    answer = _ANSWERS.get(text.strip().lower().rstrip(".!"))
    if pending and answer:
        return {"answer": answer}
    understood = {"lang": "en", "requests": _requests(text)}
    return {"answer": "other", **understood} if pending else understood


def _requests(text: str) -> list[dict[str, Any]]:
    if _EMAIL_ZIP.search(text):
        return [{"kind": "login"}]
    order = _ORDER.search(text)
    if order and "cancel" in text.lower():
        return [{"kind": "cancel_order", "order": order.group(1), "reason": "I ordered it by mistake"}]
    if order:
        return [{"kind": "get_order", "order": order.group(1)}]
    return [{"kind": "smalltalk"}]
