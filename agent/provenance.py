"""Arguments must come from somewhere: an order id, email, zip code, phone number or street address in
a tool call (nested ones too, like update_account's `address`) must appear in the customer's messages
or an earlier tool result. Otherwise the runtime asks instead of calling."""

from __future__ import annotations

import re
from typing import Any

from agent.guard import order_ids
from tools.values import normalize_order_id

QUESTIONS = {
    "order_id": "Which order is this about? Please give me the order number (it starts with W, "
                "for example in your confirmation email).",
    "email": "What is the email address on your account?",
    "zip_code": "What is the zip code of your account's address?",
    "address_line1": "What is the full address: street and number, city, state and zip code?",
    "city": "What is the full address: street and number, city, state and zip code?",
    "phone": "What phone number should I use?",
}
# street-type words a model may spell out or abbreviate ("St" for "Street")
_STREET_WORDS = {"st", "street", "ave", "avenue", "rd", "road", "apt", "apartment", "suite", "ste", "unit",
                 "blvd", "boulevard", "dr", "drive", "ln", "lane", "ct", "court", "pl", "place", "no"}
CONDITION_QUESTION = ("What condition is the item in: unopened, opened or used, defective (it doesn't work "
                      "or arrived damaged), or not the item you ordered?")

# Conditions that waive fees are the customer's claim to make, never the model's guess.
_CLAIMS = {
    "defective": re.compile(
        r"defect|broke|damag|faulty|crack|torn|ripp|tear|malfunction|leak|dead\b|stopp?ed working|"
        r"(doesn't|does not|don't|do not|won't|will not|isn't|is not|not) (work|turn on|charge|fit together)|"
        r"not working|falling apart|fell apart|scratch|dent|stain|hole|missing part", re.I),
    "wrong_item": re.compile(
        r"wrong|not what i (ordered|bought)|different (item|product|one)|sent me|mix-?up|mixed up|"
        r"instead of|isn't what|is not what|never ordered|didn't order|did not order", re.I),
}


def unclaimed_condition(arguments: dict[str, Any], customer_text: str) -> bool:
    """True when a call says the item is defective or the wrong item but the customer never said so."""
    claim = _CLAIMS.get(str(arguments.get("condition") or ""))
    return claim is not None and not claim.search(customer_text)


_UNOPENED = re.compile(r"\bunopened\b|\bsealed\b|(never|not|haven't|have not|didn't|did not) (been )?opened|"
                       r"still in (the |its |their )?(box|packaging|wrapper)", re.I)
_OPENED = re.compile(r"\bopened\b|\bused\b|\bworn\b|\bwore\b|tried (it|them) on", re.I)


def stated_condition(customer_text: str) -> str | None:
    """"unopened" or "opened" when that is what the customer said about the item (and not both)."""
    unopened = bool(_UNOPENED.search(customer_text))
    opened = bool(_OPENED.search(_UNOPENED.sub(" ", customer_text)))
    if unopened != opened:
        return "unopened" if unopened else "opened"
    return None


def unsourced_argument(arguments: dict[str, Any], evidence: str) -> str | None:
    """The name of the first argument whose value nobody gave, or None when all are sourced."""
    lowered = evidence.lower()
    known_orders = order_ids(evidence)
    words = set(re.findall(r"[a-z0-9]+", lowered))
    phone_digits = re.sub(r"[\s().+-]", "", evidence)
    for name, value in _flat(arguments):
        if value in (None, "") or name not in QUESTIONS:
            continue
        text = str(value).strip().lower()
        if name == "order_id":
            if normalize_order_id(str(value)) not in known_orders:
                return name
        elif name in ("address_line1", "city"):
            if not set(re.findall(r"[a-z0-9]+", text)) - _STREET_WORDS <= words:
                return name
        elif name == "phone":
            digits = re.sub(r"\D", "", text)
            if not digits or digits[-7:] not in phone_digits:
                return name
        elif text not in lowered:
            return name
    return None


def _flat(arguments: dict[str, Any]):
    for name, value in arguments.items():
        if isinstance(value, dict):
            yield from _flat(value)
        else:
            yield name, value
