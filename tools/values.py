"""Small value helpers shared by the tools: order ids, money, times."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated

from pydantic import BeforeValidator, StringConstraints

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
