"""cancel_order: cancel while the policy allows, refund the total to the original payment method."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.context import ToolContext
from tools.lookup import customer_order, order_not_found, payment_method
from tools.refund_rules import record_refund, refund_timing
from tools.registry import write_tool
from tools.results import Plan, ToolResult, denied
from tools.values import FreeText, OrderId, iso, money


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
    if order["status"] not in rules.allowed_statuses:
        alternatives = (["start a return after delivery"] if order["status"] in
                        ("shipped", "out_for_delivery", "delivered") else [])
        already = "already " if order["status"] == "cancelled" else ""
        return denied("cancellation.allowed_statuses",
                      f"Order {order['id']} is {already}{order['status'].replace('_', ' ')}; orders can only be "
                      f"cancelled while {' or '.join(rules.allowed_statuses)}.",
                      facts={"order_id": order["id"], "status": order["status"]},
                      alternatives=alternatives)
    reason = args.reason.strip().rstrip(".")
    if rules.reason_required and not reason:
        return denied("cancellation.reason_required", "Please tell me why you want to cancel; the "
                      "reason is required.", facts={"order_id": order["id"]})
    pm = payment_method(ctx, order["payment_method_id"])
    timing = refund_timing(ctx, pm)
    total = order["total_cents"]
    items = sum(line["quantity"] for line in order["lines"])
    summary = (f"Cancel order {order['id']} ({items} item{'s' if items != 1 else ''}) and refund "
               f"{money(total)} to {timing['refund_to']} {timing['timing']}. Reason: {reason}.")

    def apply(db) -> dict:
        now = iso(ctx.now())
        db.execute("UPDATE orders SET status = 'cancelled', cancelled_at = ?, cancel_reason = ?, "
                   "updated_at = ? WHERE id = ?", (now, reason, now, order["id"]))
        for line in order["lines"]:
            if line["variant_id"]:
                db.execute("UPDATE variants SET stock = stock + ? WHERE id = ?",
                           (line["quantity"], line["variant_id"]))
        refund = record_refund(db, ctx, order=order, amount_cents=total, pm=pm,
                               reason=f"order cancelled: {reason}")
        return {"order_id": order["id"], "status": "cancelled", **refund}

    return Plan(summary=summary, apply=apply,
                done_message=f"Order {order['id']} is cancelled. {money(total)} will be refunded to "
                             f"{timing['refund_to']} {timing['timing']}.",
                data={"order_id": order["id"], "refund_amount": money(total), **timing})
