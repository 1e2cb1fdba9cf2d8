"""Money arithmetic shared by the tools. Integer cents in, integer cents out.

Rounding rule: any share of an amount (a percentage fee, the tax on part of an order) is rounded
half up to the cent, e.g. 15% of $199.99 = 29.9985 -> $30.00.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(cents: int, percent: Decimal | int) -> int:
    """`percent`% of `cents`, rounded half up to the cent."""
    return round_cents(Decimal(cents) * Decimal(percent) / 100)


def share_of(part_cents: int, whole_cents: int, amount_cents: int) -> int:
    """The share of `amount_cents` that `part_cents` is of `whole_cents` (e.g. the tax on some lines
    of an order), rounded half up; 0 when the whole is 0."""
    if whole_cents <= 0:
        return 0
    return round_cents(Decimal(amount_cents) * Decimal(part_cents) / Decimal(whole_cents))
