"""Refund timing and the refund record, shared by every tool that gives money back."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from tools.backend.interface import CommerceTransaction
from tools.backend.records import NewRefund, Order, PaymentMethod
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


def _window(ctx: ToolContext, pm: PaymentMethod | None, store_credit: bool) -> tuple[str, int, int]:
    kind = "gift_card" if store_credit else (pm.kind if pm else "credit_card")
    low, high = ctx.policy.refunds.business_days.get(kind, (5, 7))
    if store_credit and ctx.policy.refunds.store_credit_immediate:
        low, high = 0, 0
    return kind, low, high


def refund_words(ctx: ToolContext, pm: PaymentMethod | None, *, store_credit: bool = False) -> dict[str, Msg]:
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


def refund_timing(ctx: ToolContext, pm: PaymentMethod | None, *, store_credit: bool = False) -> dict[str, Any]:
    """When a refund to this payment method arrives, by `refunds.business_days`."""
    kind, _, high = _window(ctx, pm, store_credit)
    words = refund_words(ctx, pm, store_credit=store_credit)
    expected = add_business_days(ctx.now(), high)
    return {"refund_to": words["refund_to"].text, "timing": words["timing"].text,
            "expected_by": iso(expected)[:10], "immediate": high == 0,
            "rule": "refunds.store_credit_immediate" if store_credit else f"refunds.business_days.{kind}"}


def record_refund(tx: CommerceTransaction, ctx: ToolContext, *, order: Order, amount_cents: int,
                  pm: PaymentMethod | None, reason: str, store_credit: bool = False,
                  return_id: str | None = None) -> dict[str, Any]:
    """Record the refund; an immediate gift-card refund is credited to the balance now."""
    timing = refund_timing(ctx, pm, store_credit=store_credit)
    refund_id = "RF" + uuid.uuid4().hex[:8].upper()
    pm_id = tx.store_credit_card(order.customer_id) if store_credit else (pm.id if pm else None)
    is_gift = store_credit or (pm is not None and pm.kind == "gift_card")
    if is_gift and timing["immediate"]:
        tx.adjust_balance(pm_id, amount_cents)
    tx.record_refund(NewRefund(
        id=refund_id, order_id=order.id, customer_id=order.customer_id, return_id=return_id,
        amount_cents=amount_cents, method="store_credit" if store_credit else "original", payment_method_id=pm_id,
        status="completed" if timing["immediate"] else "pending", reason=reason, expected_by=timing["expected_by"],
        created_at=iso(ctx.now())))
    return {"refund_id": refund_id, "refund_amount": money(amount_cents), **timing}
