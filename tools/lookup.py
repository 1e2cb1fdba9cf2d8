"""Reads shared by the tools. Every order read is scoped to the verified customer."""

from __future__ import annotations

from tools.backend.records import Order, PaymentMethod
from tools.context import ToolContext
from tools.results import N_, Msg, ToolResult, denied, msg

NOT_FOUND_RULE = "identity.own_orders_only"


def customer_order(ctx: ToolContext, order_id: str) -> Order | None:
    """The order if it exists AND belongs to the session's customer; otherwise None. Callers answer
    both cases with `order_not_found`, so a customer cannot learn that another's order exists."""
    if ctx.customer_id is None:
        return None
    return ctx.store.customer_order(ctx.customer_id, order_id)


def order_not_found(order_id: str) -> ToolResult:
    return denied(NOT_FOUND_RULE, msg(N_("I could not find an order {order_id} on your account."),
                                      order_id=order_id),
                  facts={"order_id": order_id},
                  alternatives=[msg(N_("check the order id in the confirmation email")),
                                msg(N_("ask for your order history"))])


def payment_method(ctx: ToolContext, payment_method_id: str | None) -> PaymentMethod | None:
    if payment_method_id is None:
        return None
    return ctx.store.payment_method(payment_method_id)


def describe_payment(pm: PaymentMethod | None) -> str:
    """A payment method as a customer would name it. Never more than the last four digits."""
    return payment_words(pm).text


def payment_words(pm: PaymentMethod | None) -> Msg:
    """`describe_payment` as a catalog message."""
    if pm is None:
        return msg(N_("the original payment method"))
    kind = pm.kind
    if kind == "credit_card":
        if pm.brand:
            return msg(N_("{brand} ending {last4}"), brand=pm.brand, last4=str(pm.last4))
        return msg(N_("card ending {last4}"), last4=str(pm.last4))
    if kind == "gift_card":
        return msg(N_("gift card"))
    if kind == "paypal":
        return msg(N_("PayPal"))
    return msg(N_("e-wallet"))
