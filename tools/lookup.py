"""Reads shared by the tools. Every order read is scoped to the verified customer."""

from __future__ import annotations

from typing import Any

from tools.context import ToolContext
from tools.results import N_, Msg, ToolResult, denied, msg

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
    return denied(NOT_FOUND_RULE, msg(N_("I could not find an order {order_id} on your account."),
                                      order_id=order_id),
                  facts={"order_id": order_id},
                  alternatives=[msg(N_("check the order id in the confirmation email")),
                                msg(N_("ask for your order history"))])


def payment_method(ctx: ToolContext, payment_method_id: str | None) -> dict[str, Any] | None:
    if payment_method_id is None:
        return None
    return ctx.store.one("SELECT * FROM payment_methods WHERE id = ?", (payment_method_id,))


def describe_payment(pm: dict[str, Any] | None) -> str:
    """A payment method as a customer would name it. Never more than the last four digits."""
    return payment_words(pm).text


def payment_words(pm: dict[str, Any] | None) -> Msg:
    """`describe_payment` as a catalog message."""
    if pm is None:
        return msg(N_("the original payment method"))
    kind = pm["kind"]
    if kind == "credit_card":
        if pm.get("brand"):
            return msg(N_("{brand} ending {last4}"), brand=pm["brand"], last4=str(pm.get("last4")))
        return msg(N_("card ending {last4}"), last4=str(pm.get("last4")))
    if kind == "gift_card":
        return msg(N_("gift card"))
    if kind == "paypal":
        return msg(N_("PayPal"))
    return msg(N_("e-wallet"))
