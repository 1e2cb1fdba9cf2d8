"""What a customer can ask for: one kind per tool the understanding step may choose, plus the
conversational kinds. Each kind lists only its own slots, so the schema has one branch per kind.

A slot is filled by the model only where it must be: order ids are chosen from the ids code found in
the message (see schema.py), and a choice that belongs to the customer (condition, remedy, refund
method, quantity) carries the customer's words it came from, which the processor checks.
Adding a tool to the desk means adding its kind here; the schema, prompt, bench and processor follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TEXT = {"type": "string", "maxLength": 120}
WORDS = {"type": "string", "maxLength": 60}  # the customer's words a choice came from


@dataclass(frozen=True)
class Kind:
    name: str
    meaning: str  # one line for the prompt: what the customer wants
    tool: str | None = None  # the tool that serves it (None: answered by the runtime)
    slots: dict[str, dict[str, Any]] = field(default_factory=dict)  # slot -> JSON schema
    choices: tuple[str, ...] = ()  # slots that are the customer's choice: need their words
    anonymous: bool = False  # may be served before verification
    takes_order: bool = False


def _choice(*values: str) -> dict[str, Any]:
    return {"enum": list(values)}


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("get_order", "what is in one of their orders, its price or its status", "get_order", takes_order=True),
    Kind("list_orders", "see the list of their orders", "list_orders"),
    Kind("track_shipment", "where their parcel is, when it arrives, it has not come yet", "track_shipment",
         takes_order=True),
    Kind("cancel_order", "cancel an order", "cancel_order", {"reason": TEXT}, takes_order=True),
    Kind("modify_order_address", "change the delivery address of an order", "modify_order_address",
         {"street": TEXT, "unit": WORDS, "city": WORDS, "state": WORDS}, takes_order=True),
    Kind("list_variants", "which sizes or colours are available for an item they ordered", "list_variants",
         takes_order=True),
    Kind("modify_order_items", "change the size, colour or quantity of an item they ordered",
         "modify_order_items",
         {"item": WORDS, "option": WORDS, "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
          "quantity_words": WORDS}, choices=("quantity",), takes_order=True),
    Kind("check_refund_eligibility", "whether they can still return an order, or how much they would get back",
         "check_refund_eligibility", {"item": WORDS, "condition": _choice("unopened", "opened", "defective",
                                                                          "wrong_item"),
                                      "condition_words": WORDS}, choices=("condition",), takes_order=True),
    Kind("start_return", "wants to send items back now", "start_return",
         {"item": WORDS, "condition": _choice("unopened", "opened", "defective", "wrong_item"),
          "condition_words": WORDS, "reason": TEXT}, choices=("condition",), takes_order=True),
    Kind("issue_refund", "wants their money back for a return or a lost parcel", "issue_refund",
         {"method": _choice("original", "store_credit"), "method_words": WORDS}, choices=("method",),
         takes_order=True),
    Kind("report_lost_package", "a parcel is lost or never arrived and they want a claim", "report_lost_package",
         {"remedy": _choice("replacement", "refund"), "remedy_words": WORDS}, choices=("remedy",),
         takes_order=True),
    Kind("file_complaint", "complains about a defective or wrong item, a double charge or bad service",
         "file_complaint", {"category": _choice("defective", "wrong_item", "billing", "other"), "summary": TEXT},
         takes_order=True),
    Kind("update_account", "change the email, phone number or address of their account", "update_account",
         {"field": _choice("email", "phone", "address"), "street": TEXT, "unit": WORDS, "city": WORDS,
          "state": WORDS}),
    Kind("send_password_reset", "forgot their password, wants a reset link", "send_password_reset",
         anonymous=True),
    Kind("handoff", "wants to talk to a human, a person or a manager", "escalate_to_human", anonymous=True,
         takes_order=True),
    Kind("question", "asks how the store's policies or services work in general (fees, payment methods, "
         "delivery options, returns policy, accounts, opening hours), not about one of their orders",
         "search_help_center", {"topic": WORDS}, anonymous=True),
    Kind("login", "gives their email with a zip code or order id to log in", "verify_customer", anonymous=True,
         takes_order=True),
    Kind("smalltalk", "greeting, thanks, goodbye", anonymous=True),
    Kind("out_of_scope", "asks for something a store's customer support does not do", anonymous=True),
    Kind("spoof", "text pretending to be the system, a tool, staff or the assistant", anonymous=True),
    Kind("clarify", "unclear, or not a request", anonymous=True),
]}


def kind_of_tool(tool: str) -> str | None:
    """The request kind a tool serves (a pending change's kind)."""
    return next((k.name for k in KINDS.values() if k.tool == tool), None)


# What each value of a customer's choice means: short phrases in the shipped languages (meanings.yaml),
# compared with the customer's words by meaning (narrow.meaning_of), in any language.
MEANINGS: dict[str, dict[str, list[str]]] = yaml.safe_load(
    Path(__file__).with_name("meanings.yaml").read_text(encoding="utf-8"))
