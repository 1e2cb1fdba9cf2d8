"""Refund timing and the refund record, shared by every tool that gives money back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from tools.context import ToolContext
from tools.i18n import N_, NP_, Msg, msg
from tools.lookup import payment_words
from tools.values import iso, money


def add_business_days(start: datetime, days: int) -> datetime:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def _window(ctx: ToolContext, pm: dict[str, Any] | None, store_credit: bool) -> tuple[str, int, int]:
    kind = "gift_card" if store_credit else (pm or {}).get("kind", "credit_card")
    low, high = ctx.policy.refunds.business_days.get(kind, (5, 7))
    if store_credit and ctx.policy.refunds.store_credit_immediate:
        low, high = 0, 0
    return kind, low, high


def refund_words(ctx: ToolContext, pm: dict[str, Any] | None, *, store_credit: bool = False) -> dict[str, Msg]:
    """Where a refund goes and when it arrives, as catalog messages ("refund_to", "timing")."""
    _, low, high = _window(ctx, pm, store_credit)
    where = msg(N_("store credit (gift card)")) if store_credit else payment_words(pm)
    if high == 0:
        when = msg(N_("immediately"))
    elif low != high:
        when = msg(N_("within {low}-{high} business days"), low=low, high=high)
    else:
        when = msg(NP_("within {count} business day", "within {count} business days"), count=high)
    return {"refund_to": where, "timing": when}


def refund_timing(ctx: ToolContext, pm: dict[str, Any] | None, *, store_credit: bool = False) -> dict[str, Any]:
    """When a refund to this payment method arrives, by `refunds.business_days`."""
    kind, _, high = _window(ctx, pm, store_credit)
    words = refund_words(ctx, pm, store_credit=store_credit)
    expected = add_business_days(ctx.now(), high)
    return {"refund_to": words["refund_to"].text, "timing": words["timing"].text,
            "expected_by": iso(expected)[:10], "immediate": high == 0,
            "rule": "refunds.store_credit_immediate" if store_credit else f"refunds.business_days.{kind}"}


def record_refund(db: sqlite_utils.Database, ctx: ToolContext, *, order: dict[str, Any],
                  amount_cents: int, pm: dict[str, Any] | None, reason: str,
                  store_credit: bool = False, return_id: str | None = None) -> dict[str, Any]:
    """Insert the refund row; an immediate gift-card refund is credited to the balance now."""
    timing = refund_timing(ctx, pm, store_credit=store_credit)
    refund_id = "RF" + uuid.uuid4().hex[:8].upper()
    pm_id = pm["id"] if pm else None
    if store_credit:
        gift = db.execute("SELECT id FROM payment_methods WHERE customer_id = ? AND kind = 'gift_card' "
                          "ORDER BY id LIMIT 1", (order["customer_id"],)).fetchone()
        if gift is None:
            pm_id = "GC-" + order["customer_id"]
            db.execute("INSERT INTO payment_methods (id, customer_id, kind, balance_cents, label) "
                       "VALUES (?, ?, 'gift_card', 0, 'Store credit')", (pm_id, order["customer_id"]))
        else:
            pm_id = gift[0]
    is_gift = store_credit or (pm is not None and pm["kind"] == "gift_card")
    if is_gift and timing["immediate"]:
        db.execute("UPDATE payment_methods SET balance_cents = coalesce(balance_cents, 0) + ? WHERE id = ?",
                   (amount_cents, pm_id))
    db.execute(
        "INSERT INTO refunds (id, order_id, customer_id, return_id, amount_cents, method, payment_method_id,"
        " status, reason, expected_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (refund_id, order["id"], order["customer_id"], return_id, amount_cents,
         "store_credit" if store_credit else "original", pm_id,
         "completed" if timing["immediate"] else "pending", reason, timing["expected_by"], iso(ctx.now())),
    )
    return {"refund_id": refund_id, "refund_amount": money(amount_cents), **timing}
