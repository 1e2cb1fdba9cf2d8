"""A model-written reply (`--reply model`): the model rewrites the composed reply in its own words (or
another language), and the rewrite is shown only if it keeps every fact — every id, amount, date and
number of the composed reply, and none that nobody said. Checked before the customer sees anything;
on failure the composed reply is used."""

from __future__ import annotations

import re
from typing import Any

_FACT = re.compile(r"[A-Za-z]*\d(?:[\d.,:/-]*\d)?")

INSTRUCTION = ("Rewrite the support reply below for the customer, friendly and brief, in the language "
               "'{lang}'. Keep every order id, amount, date, number and rule exactly as written; add no "
               "fact, link or promise. Answer with the rewritten reply only.")


def facts(text: str) -> set[str]:
    """The id-, amount-, date- and number-like tokens of a text, normalised (no thousands separators)."""
    return {m.group().replace(",", "").rstrip(".").upper() for m in _FACT.finditer(text or "")}


def keeps_facts(composed: str, rewritten: str, customer_text: str) -> bool:
    got, want = facts(rewritten), facts(composed)
    return want <= got and got <= want | facts(customer_text)


def rewrite(model: Any, composed: str, lang: str, customer_text: str) -> str | None:
    messages = [{"role": "system", "content": INSTRUCTION.format(lang=lang)},
                {"role": "user", "content": composed}]
    try:
        reply = model.complete(messages, [], reply_only=True)
    except Exception:  # the composed reply stands
        return None
    text = (reply.text or "").strip()
    if not text or text.startswith(("{", "[", "<")):  # raw tool JSON or markup never reaches a customer
        return None
    return text if keeps_facts(composed, text, customer_text) else None
