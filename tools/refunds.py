"""issue_refund: pay back what the store owes on an order (an open return, a lost-package claim), and
nothing more."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tools.backend.interface import CommerceTransaction
from tools.backend.records import Order
from tools.context import ToolContext
from tools.i18n import Listing
from tools.lookup import customer_order, order_not_found, payment_method
from tools.lost_package import claim_denial
from tools.refund_rules import record_refund, refund_timing, refund_words
from tools.registry import write_tool
from tools.results import N_, Plan, ToolResult, denied, msg
from tools.returns import OPEN_RETURN_STATUSES
from tools.ticket_records import LOST_REFUND_AWAITING
from tools.values import OrderId, iso, money

NOTHING_OWED_RULE = "refunds.owed_only"


def refunds_owed(ctx: ToolContext, order: Order) -> list[dict[str, Any]]:
    """What the store owes on this order, item by item, capped so that all refunds together never
    exceed the order total."""
    refunds = ctx.store.order_refunds(order.id)
    refunded = sum(r.amount_cents for r in refunds)
    paid_returns = {r.return_id for r in refunds if r.return_id}
    owed = [{"kind": "return", "id": r.id, "amount_cents": r.refund_cents}
            for r in ctx.store.order_returns(order.id)
            if r.status in OPEN_RETURN_STATUSES and r.id not in paid_returns and r.refund_cents]
    owed += [{"kind": "lost_package", "id": c.id, "amount_cents": order.total_cents}
             for c in ctx.store.order_tickets(order.id, "lost_package") if c.status == LOST_REFUND_AWAITING]
    room = max(order.total_cents - refunded, 0)
    for item in owed:
        item["amount_cents"] = min(item["amount_cents"], room)
        room -= item["amount_cents"]
    return [item for item in owed if item["amount_cents"] > 0]


def _lines_not_returned(ctx: ToolContext, order: Order) -> int:
    """How many item lines of the order no return (open or done) covers."""
    covered = {i for r in ctx.store.order_returns(order.id) if r.status != "cancelled" for i in r.line_ids}
    return sum(1 for line in order.lines if line.id not in covered)


def nothing_owed(ctx: ToolContext, order: Order) -> ToolResult:
    """The denial of a refund nobody owes, with what would get the customer their money: for a parcel
    that has not moved long enough to be claimed lost, the claim with a refund (proposed, confirmed)."""
    message = msg(N_("Nothing is owed on order {order_id}: a refund is paid for a return or a lost-package "
                     "claim, and none is waiting for a refund."), order_id=order.id)
    facts = {"order_id": order.id, "status": order.status}
    if claim_denial(ctx, order, "refund") is None:  # the lost-package tool's own rules say a claim is possible
        return denied(NOTHING_OWED_RULE, message, facts={**facts, "lost_claim_eligible": True},
                      alternatives=[msg(N_("report the parcel lost and get a full refund"))],
                      instead={"tool": "report_lost_package", "arguments": {"order_id": order.id, "remedy": "refund"}})
    return denied(NOTHING_OWED_RULE, message, facts=facts,
                  alternatives=[msg(N_("check refund eligibility and start a return")),
                                msg(N_("ask about an existing refund's timing"))])


class IssueRefundArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1002.")
    to_store_credit: bool = Field(default=False, description="True if the customer prefers store credit (a gift card, immediately) over the original payment method.")


@write_tool()
def issue_refund(ctx: ToolContext, args: IssueRefundArgs) -> Plan | ToolResult:
    """Refund what the store owes on one of the verified customer's orders (an open return, or a lost-package claim with a refund) to the original payment method or, if the customer prefers, to store credit. The amount is computed; the customer must confirm."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    owed = refunds_owed(ctx, order)
    total = sum(item["amount_cents"] for item in owed)
    if total <= 0:
        return nothing_owed(ctx, order)
    threshold = ctx.policy.refunds.approval_threshold_cents
    if total > threshold:
        return denied("refunds.approval_threshold",
                      msg(N_("A refund of {amount} is above {threshold} and needs a human's approval."),
                          amount=ctx.money(total), threshold=ctx.money(threshold)),
                      facts={"order_id": order.id, "refund_amount": money(total),
                             "approval_threshold": money(threshold), "handoff_reason": "approval_required"},
                      alternatives=[msg(N_("escalate to a human for approval"))])
    pm = payment_method(ctx, order.payment_method_id)
    timing = refund_timing(ctx, pm, store_credit=args.to_store_credit)
    what = Listing(items=[msg(N_("return {return_id}"), return_id=i["id"]) if i["kind"] == "return"
                          else msg(N_("the lost-package claim")) for i in owed], style="and")
    new_status = None
    if any(item["kind"] == "return" for item in owed):
        new_status = "returned" if not _lines_not_returned(ctx, order) else "delivered"
    paid = {"amount": ctx.money(total), **refund_words(ctx, pm, store_credit=args.to_store_credit)}
    if new_status == "returned":
        summary = msg(N_("Refund {amount} for {what} on order {order_id} to {refund_to} {timing}. This closes "
                         "{what}, and order {order_id} shows as returned."), what=what, order_id=order.id, **paid)
    else:
        summary = msg(N_("Refund {amount} for {what} on order {order_id} to {refund_to} {timing}. This closes "
                         "{what}."), what=what, order_id=order.id, **paid)

    def apply(tx: CommerceTransaction) -> dict:
        refund_ids = []
        for item in owed:
            is_return = item["kind"] == "return"
            refund = record_refund(tx, ctx, order=order, amount_cents=item["amount_cents"], pm=pm,
                                   reason=f"return {item['id']}" if is_return else f"lost package claim {item['id']}",
                                   store_credit=args.to_store_credit, return_id=item["id"] if is_return else None)
            if is_return:
                tx.set_return_status(item["id"], "refunded")
            else:
                tx.set_ticket_status(item["id"], "resolved")
            refund_ids.append(refund["refund_id"])
        if new_status is not None:
            tx.set_order_status(order.id, new_status, iso(ctx.now()))
        return {"refund_ids": refund_ids}

    return Plan(summary=summary, apply=apply,
                done=msg(N_("{amount} is refunded to {refund_to} {timing}."), **paid),
                data={"order_id": order.id, "refund_amount": money(total),
                      "refund_for": " and ".join(i.text for i in what.items), **timing})
