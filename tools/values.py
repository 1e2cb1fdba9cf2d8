"""Small value helpers shared by the tools: order ids, free text, money, times."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

from tools.masking import mask_card_numbers

_ORDER_ID = re.compile(r"^\s*#?\s*([Ww])\s*-?\s*(\d+)\s*$")


def normalize_order_id(value: object) -> object:
    """Accept W1001, #W1001, w1001 (and stray spaces); anything else is left for validation to reject."""
    if isinstance(value, str):
        m = _ORDER_ID.match(value)
        if m:
            return f"W{m.group(2)}"
    return value


OrderId = Annotated[
    str,
    BeforeValidator(normalize_order_id),
    StringConstraints(pattern=r"^W\d+$"),
]


# What no free-text argument may contain. Every one is a single line of ordinary Unicode text (any
# script, accents, emoji), stored and shown back to the customer in a confirmation, so: no C0 or C1
# control characters (tab and newline included), no line or paragraph separators, no invisible
# bidirectional-text controls (they make a confirmation read differently from what is stored), and
# no lone surrogates (they cannot be stored).
_NOT_PLAIN = re.compile(
    "[\x00-\x1f\x7f-\x9f"                                 # C0 controls, DEL, C1 controls
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"        # bidi marks, embeddings, overrides, isolates
    "\u2028\u2029"                                        # line and paragraph separators
    "\ud800-\udfff]"                                      # lone surrogates
)


def plain_text(value: object) -> object:
    """A free-text argument without its surrounding whitespace, or a validation error naming the first
    character it may not hold. Not a string: left for the string validation to reject."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    found = _NOT_PLAIN.search(value)
    if found is None:
        return value
    char = found.group()
    name = unicodedata.name(char, "")  # controls and surrogates have none
    raise PydanticCustomError(
        "plain_text",
        "must be plain text on one line, without control or text-direction characters "
        "(found {char} at position {position})",
        {"char": f"U+{ord(char):04X}" + (f" {name}" if name else ""), "position": found.start() + 1},
    )


def as_plain_text(text: str) -> str:
    """Text the runtime passes on (a customer's message as a search query) made acceptable as a
    free-text argument: line breaks and tabs become spaces, invisible controls are dropped."""
    return " ".join(_NOT_PLAIN.sub(lambda m: " " if m.group().isspace() else "", text).split())


def FreeText(max_length: int, *, min_length: int | None = None, pattern: str | None = None) -> Any:  # noqa: N802
    """The type of every free-text argument of every tool (a test walks the argument models to keep it
    so): plain text as `plain_text` checks it, at most `max_length` characters once its surrounding
    whitespace is dropped. The limits are part of the type, so an optional field (`FreeText(60) | None`)
    reports them as clearly as a required one. A card number in it is masked (tools/masking.py), so no
    reason, summary or ticket stores one."""
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length, pattern=pattern),
                     BeforeValidator(plain_text), AfterValidator(mask_card_numbers)]


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def as_date(value: str | None) -> date | str | None:
    """The calendar date of a stored time or date ("2026-03-01T10:00:00Z" -> 2026-03-01), for a
    message; a value that is not one stays as it is."""
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return value


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
