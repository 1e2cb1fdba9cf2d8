"""The reply guard: a reply may state only order ids, dates and amounts that some tool result, the
customer or the policy gave, and may claim only actions a tool performed."""

from __future__ import annotations

import re
from datetime import date

_ORDER = re.compile(r"#?\b[Ww]-?(\d{3,})\b")
_AMOUNT = re.compile(r"(?:\$|USD\s?)\s?(\d{1,3}(?:,\d{3})*|\d+)(?:\.(\d{2}))?")
_PLAIN_AMOUNT = re.compile(r"\b(\d{1,3}(?:,\d{3})*|\d+)\.(\d{2})\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s)>\]]+", re.I)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_MONTH_DAY = re.compile(
    r"\b(" + "|".join(m[:3] for m in _MONTHS) + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b", re.I)
_DAY_MONTH = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + "|".join(m[:3] for m in _MONTHS) + r")[a-z]*\b", re.I)

# Claims that an action was performed, and the tools that can make each claim true.
_CLAIMS = {
    "cancel": ("cancel_order",),
    "refund": ("issue_refund", "cancel_order", "report_lost_package", "modify_order_items"),
    "return": ("start_return",),
    "change": ("modify_order_address", "modify_order_items", "update_account"),
    "update": ("modify_order_address", "modify_order_items", "update_account"),
    "modif": ("modify_order_address", "modify_order_items"),
    "escalat": ("escalate_to_human",),
    "ticket": ("file_complaint", "escalate_to_human", "report_lost_package"),
    "sent": ("send_password_reset", "start_return"),
    "claim": ("report_lost_package",),
}
_CLAIM = re.compile(
    r"\b(?:I|we)(?:'ve| have)?\s+(?:just\s+|now\s+|successfully\s+|already\s+|gone ahead and\s+)?"
    r"(cancel\w*|refund\w*|return\w*|chang\w*|updat\w*|modif\w*|escalat\w*|sent|opened a ticket|filed a claim)",
    re.I)


def order_ids(text: str) -> set[str]:
    return {f"W{m}" for m in _ORDER.findall(text)}


def amounts(text: str) -> set[int]:
    found = set()
    for regex in (_AMOUNT, _PLAIN_AMOUNT):
        for whole, cents in regex.findall(text):
            found.add(int(whole.replace(",", "")) * 100 + int(cents or 0))
    return found


def dates(text: str) -> set[tuple[int, int]]:
    """(month, day) pairs, from ISO dates and written dates."""
    found = set()
    for y, m, d in _ISO_DATE.findall(text):
        found.add((int(m), int(d)))
    for mon, d in _MONTH_DAY.findall(text):
        found.add((_month(mon), int(d)))
    for d, mon in _DAY_MONTH.findall(text):
        found.add((_month(mon), int(d)))
    return {x for x in found if 1 <= x[1] <= 31}


def _month(name: str) -> int:
    return [m[:3] for m in _MONTHS].index(name[:3].lower()) + 1


def _date_name(md: tuple[int, int]) -> str:
    return f"{_MONTHS[md[0] - 1].title()} {md[1]}"


def check_reply(reply: str, evidence: str, performed: set[str], *, today: date | None = None,
                amount_evidence: str | None = None) -> list[str]:
    """Problems with a reply, in words a model can act on. `evidence` is everything the customer
    said, every tool result and the policy; `amount_evidence` (default: `evidence`) only what the
    tools and the policy said — a customer naming an amount ("refund me $250") does not make it
    true; `performed` the tools whose write actually ran."""
    problems: list[str] = []
    known_orders = order_ids(evidence)
    for oid in sorted(order_ids(reply) - known_orders):
        problems.append(f"order id {oid} appears in no tool result or customer message")
    known_amounts = amounts(evidence if amount_evidence is None else amount_evidence)
    for cents in sorted(amounts(reply) - known_amounts):
        problems.append(f"the amount {cents // 100}.{cents % 100:02d} comes from no tool result")
    known_dates = dates(evidence)
    if today is not None:
        known_dates.add((today.month, today.day))
    for md in sorted(dates(reply) - known_dates):
        problems.append(f"the date {_date_name(md)} comes from no tool result")
    for url in _URL.findall(reply):
        if url.rstrip(".,;:!?").lower() not in evidence.lower():
            problems.append(f"the link {url.rstrip('.,;:!?')} comes from no tool result")
    for match in _CLAIM.finditer(reply):
        word = match.group(1).lower()
        tools = next((t for k, t in _CLAIMS.items() if k in word), ())
        if tools and not performed.intersection(tools):
            problems.append(f"the reply says '{match.group(0)}' but no such action was performed")
    return problems


_STOP = {"that", "this", "with", "from", "have", "been", "only", "your", "their", "which", "within",
         "after", "before", "while", "order", "orders", "there", "they", "will", "would", "could", "should",
         "were", "when", "what", "than", "them", "then", "into", "over", "also", "just", "more", "once"}


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9][a-z0-9.$-]*[a-z0-9]|[0-9]", text.lower())
    return {w for w in words if (len(w) >= 4 and w not in _STOP) or any(c.isdigit() for c in w)}


def relays(reply: str, message: str, share: float = 0.5) -> bool:
    """Whether a reply passes on a tool's denial: at least `share` of the denial's content words
    (its ids, dates, amounts and rule words) appear in the reply."""
    wanted = _content_words(message)
    if not wanted:
        return True
    return len(wanted & _content_words(reply)) / len(wanted) >= share
