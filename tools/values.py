"""Small value helpers shared by the tools: order ids, money, times."""

from __future__ import annotations

import re
from datetime import datetime, timezone
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


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
