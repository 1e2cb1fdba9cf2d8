"""Reads shared by the tools. Every order read is scoped to the verified customer."""

from __future__ import annotations

from typing import Any

from tools.context import ToolContext
from tools.results import ToolResult, denied

NOT_FOUND_RULE = "identity.own_orders_only"


def customer_order(ctx: ToolContext, order_id: str) -> dict[str, Any] | None:
    """The order if it exists AND belongs to the session's customer; otherwise None. Callers answer
    both cases with `order_not_found`, so a customer cannot learn that another's order exists."""
    if ctx.customer_id is None:
        return None
    order = ctx.store.one("SELECT * FROM orders WHERE id = ? AND customer_id = ?",
                          (order_id, ctx.customer_id))
    if order is not None:
        order["lines"] = ctx.store.all("SELECT * FROM order_lines WHERE order_id = ? ORDER BY id",
                                       (order_id,))
    return order


def order_not_found(order_id: str) -> ToolResult:
    return denied(NOT_FOUND_RULE, f"I could not find an order {order_id} on your account.",
                  facts={"order_id": order_id},
                  alternatives=["check the order id in the confirmation email",
                                "ask for your order history"])


def payment_method(ctx: ToolContext, payment_method_id: str | None) -> dict[str, Any] | None:
    if payment_method_id is None:
        return None
    return ctx.store.one("SELECT * FROM payment_methods WHERE id = ?", (payment_method_id,))


def describe_payment(pm: dict[str, Any] | None) -> str:
    """A payment method as a customer would name it. Never more than the last four digits."""
    if pm is None:
        return "the original payment method"
    kind = pm["kind"]
    if kind == "credit_card":
        return f"{pm.get('brand') or 'card'} ending {pm.get('last4')}"
    if kind == "gift_card":
        return "gift card"
    if kind == "paypal":
        return "PayPal"
    return "e-wallet"
