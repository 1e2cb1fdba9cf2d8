"""cancel_order: cancel while the policy allows, refund the total to the original payment method."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.backend.interface import CommerceTransaction
from tools.context import ToolContext
from tools.lookup import customer_order, order_not_found, payment_method
from tools.refund_rules import record_refund, refund_timing, refund_words
from tools.registry import write_tool
from tools.results import N_, NP_, Plan, ToolResult, denied, msg
from tools.values import FreeText, OrderId, iso, money
from tools.words import status_word, statuses


class CancelOrderArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1001.")
    reason: FreeText(500) = Field(default="", description="Why the customer wants to cancel, in their words.")


@write_tool()
def cancel_order(ctx: ToolContext, args: CancelOrderArgs) -> Plan | ToolResult:
    """Cancel one of the verified customer's orders (only before it ships) and refund it to the original payment method. Needs the customer's reason. The customer must confirm."""
    rules = ctx.policy.cancellation
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    if order.status not in rules.allowed_statuses:
        alternatives = ([msg(N_("start a return after delivery"))] if order.status in
                        ("shipped", "out_for_delivery", "delivered") else [])
        template = (N_("Order {order_id} is already {status}; orders can only be cancelled while {allowed}.")
                    if order.status == "cancelled" else
                    N_("Order {order_id} is {status}; orders can only be cancelled while {allowed}."))
        return denied("cancellation.allowed_statuses",
                      msg(template, order_id=order.id, status=status_word(order.status),
                          allowed=statuses(rules.allowed_statuses)),
                      facts={"order_id": order.id, "status": order.status},
                      alternatives=alternatives)
    reason = args.reason.strip().rstrip(".")
    if rules.reason_required and not reason:
        return denied("cancellation.reason_required",
                      msg(N_("Please tell me why you want to cancel; the reason is required.")),
                      facts={"order_id": order.id, "missing": ["reason"]})
    pm = payment_method(ctx, order.payment_method_id)
    timing = refund_timing(ctx, pm)
    total = order.total_cents
    items = sum(line.quantity for line in order.lines)
    paid = {"amount": ctx.money(total), **refund_words(ctx, pm)}
    summary = msg(NP_("Cancel order {order_id} ({count} item) and refund {amount} to {refund_to} {timing}. "
                      "Reason: {reason}.",
                      "Cancel order {order_id} ({count} items) and refund {amount} to {refund_to} {timing}. "
                      "Reason: {reason}."),
                  order_id=order.id, count=items, reason=reason, **paid)

    def apply(tx: CommerceTransaction) -> dict:
        tx.cancel_order(order.id, rules.allowed_statuses, reason, iso(ctx.now()))
        refund = record_refund(tx, ctx, order=order, amount_cents=total, pm=pm, reason=f"order cancelled: {reason}")
        return {"order_id": order.id, "status": "cancelled", **refund}

    return Plan(summary=summary, apply=apply,
                done=msg(N_("Order {order_id} is cancelled. {amount} will be refunded to {refund_to} {timing}."),
                         order_id=order.id, **paid),
                data={"order_id": order.id, "refund_amount": money(total), **timing})
