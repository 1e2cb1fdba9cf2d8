"""report_lost_package: a claim for a parcel that stopped moving, with a replacement or a refund."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.address import format_address
from tools.backend.interface import CommerceTransaction
from tools.backend.records import Order, PaymentMethod
from tools.context import ToolContext
from tools.i18n import Listing, word
from tools.lookup import customer_order, order_not_found, payment_method
from tools.refund_rules import record_refund, refund_timing, refund_words
from tools.registry import write_tool
from tools.results import N_, Plan, ToolResult, denied, msg
from tools.shipping import IN_TRANSIT, movement_status, order_shipment
from tools.ticket_records import LOST_REFUND_AWAITING, open_ticket
from tools.values import OrderId, as_date, iso, money
from tools.words import REMEDY, status_word


class ReportLostPackageArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W2001.")
    remedy: Literal["replacement", "refund"] = Field(description="What the customer chose: a replacement sent at no charge, or a full refund.")


def claim_denial(ctx: ToolContext, order: Order, remedy: str) -> ToolResult | None:
    """Why a lost-package claim with this remedy is not possible for the order (a denial naming its
    rule), or None when it is."""
    rules = ctx.policy.tracking
    if remedy not in rules.lost_remedies:
        return denied("tracking.lost_remedies",
                      msg(N_("A lost package can be resolved with {remedies}, not a {remedy}."),
                          remedies=Listing(items=[word(REMEDY, r) for r in rules.lost_remedies], style="or"),
                          remedy=word(REMEDY, remedy)),
                      facts={"remedy": remedy},
                      alternatives=[msg(N_("choose {remedy}"), remedy=word(REMEDY, r)) for r in rules.lost_remedies])
    shipment = order_shipment(ctx, order.id)
    if shipment is None or order.status not in IN_TRANSIT or shipment.delivered_at:
        delivered = order.status == "delivered" or (shipment is not None and shipment.delivered_at)
        return denied("tracking.lost_claims_in_transit_only",
                      msg(N_("Order {order_id} is {status}; a lost-package claim is for a parcel still in transit."),
                          order_id=order.id, status=status_word(order.status)),
                      facts={"order_id": order.id, "status": order.status},
                      alternatives=([msg(N_("file a complaint")), msg(N_("ask for a human agent"))] if delivered
                                    else [msg(N_("track the order"))]))
    claim = next(iter(ctx.store.order_tickets(order.id, "lost_package")), None)
    if claim is not None:
        return denied("tracking.one_claim_per_order",
                      msg(N_("A lost-package claim is already open for order {order_id} (ticket {ticket_id})."),
                          order_id=order.id, ticket_id=claim.id),
                      facts={"order_id": order.id, "ticket_id": claim.id, "ticket_status": claim.status},
                      alternatives=[msg(N_("ask for a human agent"))])
    move = movement_status(ctx, order, shipment)
    if move["days_without_movement"] < rules.lost_after_days_without_movement:
        return denied("tracking.lost_after_days_without_movement",
                      msg(N_("Order {order_id} last moved {days} days ago; a package counts as lost after "
                             "{required_days} days without movement."), order_id=order.id,
                          days=move["days_without_movement"], required_days=rules.lost_after_days_without_movement),
                      facts={"order_id": order.id, "days_without_movement": move["days_without_movement"],
                             "required_days": rules.lost_after_days_without_movement,
                             "claim_possible_from": move["lost_claim_possible_from"]},
                      alternatives=[msg(N_("report it again from {day} if it has not moved"),
                                        day=as_date(move["lost_claim_possible_from"])),
                                    msg(N_("track the order"))])
    if rules.lost_requires_estimate_passed and not move["estimate_passed"]:
        return denied("tracking.lost_requires_estimate_passed",
                      msg(N_("Order {order_id} is still expected by {estimated_delivery}; a lost-package claim is "
                             "possible once that date has passed."), order_id=order.id,
                          estimated_delivery=as_date(shipment.estimated_delivery)),
                      facts={"order_id": order.id, "estimated_delivery": shipment.estimated_delivery},
                      alternatives=[msg(N_("wait until the estimated delivery has passed"))])
    return None


@write_tool()
def report_lost_package(ctx: ToolContext, args: ReportLostPackageArgs) -> Plan | ToolResult:
    """File a lost-package claim for one of the verified customer's orders whose tracking has not moved for a long time and whose estimated delivery has passed; the customer chooses a free replacement or a full refund. The customer must confirm."""
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    denial = claim_denial(ctx, order, args.remedy)
    if denial is not None:
        return denial
    pm = payment_method(ctx, order.payment_method_id)
    if args.remedy == "replacement":
        return _replacement(ctx, order)
    return _refund(ctx, order, pm)


def _stock(ctx: ToolContext, variant_id: str) -> int:
    variant = ctx.store.variant(variant_id)
    return variant.stock if variant else 0


def _replacement(ctx: ToolContext, order: Order) -> Plan | ToolResult:
    short = [l for l in order.lines if l.variant_id and _stock(ctx, l.variant_id) < l.quantity]
    if short:
        return denied("tracking.replacement_in_stock",
                      msg(N_("{products} is out of stock, so a replacement cannot be sent now."),
                          products=Listing(items=[l.product_name for l in short])),
                      facts={"out_of_stock_line_ids": [l.id for l in short]},
                      alternatives=[msg(N_("choose a refund instead"))])
    items = Listing(items=[msg(N_("{quantity} x {product} ({variant})"), quantity=l.quantity,
                               product=l.product_name, variant=l.variant_desc) if l.variant_desc
                           else msg(N_("{quantity} x {product}"), quantity=l.quantity, product=l.product_name)
                           for l in order.lines])
    ship_to = format_address(order.ship_name, order.ship_line1, order.ship_line2, order.ship_city,
                             order.ship_state, order.ship_zip, order.ship_country)
    summary = msg(N_("File a lost-package claim for order {order_id} and send a replacement of the same items "
                     "({items}) to the same address ({address}) at no charge."), order_id=order.id,
                  items=items, address=ship_to)
    done = msg(N_("The claim is filed and a replacement order is on its way to processing, at no charge."))

    def apply(tx: CommerceTransaction) -> dict:
        new_id = tx.create_replacement_order(order, iso(ctx.now()))
        ticket = open_ticket(tx, ctx, kind="lost_package", category="replacement", priority="normal",
                             summary=f"Lost package, replacement order {new_id}", order_id=order.id,
                             remedy=f"replacement order {new_id}", status="resolved")
        return {"ticket_id": ticket, "replacement_order_id": new_id}

    return Plan(summary=summary, apply=apply, done=done,
                data={"order_id": order.id, "remedy": "replacement", "charge": money(0)})


def _refund(ctx: ToolContext, order: Order, pm: PaymentMethod | None) -> Plan:
    refunded = sum(r.amount_cents for r in ctx.store.order_refunds(order.id))
    amount = max(order.total_cents - refunded, 0)
    threshold = ctx.policy.refunds.approval_threshold_cents
    needs_approval = amount > threshold
    timing = refund_timing(ctx, pm)
    facts = {"order_id": order.id, "amount": ctx.money(amount)}
    if needs_approval:
        # The claim is valid; only the payout waits for a human, so file it and let issue_refund (after
        # approval) or a human pay it. rule: refunds.approval_threshold
        summary = msg(N_("File a lost-package claim for order {order_id} with a refund of {amount}; it is above "
                         "{threshold}, so a human must approve the refund first."),
                      threshold=ctx.money(threshold), **facts)
        done = msg(N_("The claim is filed. The refund of {amount} needs a human's approval "
                      "(refunds.approval_threshold); a human agent will follow up."), amount=ctx.money(amount))
    else:
        words = refund_words(ctx, pm)
        summary = msg(N_("File a lost-package claim for order {order_id} and refund {amount} to {refund_to} "
                         "{timing}."), **facts, **words)
        done = msg(N_("The claim is filed and {amount} is refunded to {refund_to} {timing}."),
                   amount=ctx.money(amount), **words)

    def apply(tx: CommerceTransaction) -> dict:
        ticket = open_ticket(tx, ctx, kind="lost_package", category="refund",
                             priority="high" if needs_approval else "normal",
                             summary=f"Lost package, refund {money(amount)}", order_id=order.id,
                             remedy=f"refund {money(amount)}",
                             status=LOST_REFUND_AWAITING if needs_approval else "resolved")
        out: dict[str, Any] = {"ticket_id": ticket}
        if not needs_approval and amount > 0:
            out.update(record_refund(tx, ctx, order=order, amount_cents=amount, pm=pm,
                                     reason=f"lost package claim {ticket}"))
        return out

    return Plan(summary=summary, apply=apply, done=done,
                data={"order_id": order.id, "remedy": "refund", "refund_amount": money(amount),
                      "needs_human_approval": needs_approval,
                      **({} if needs_approval else {"refund_to": timing["refund_to"], "timing": timing["timing"]})})
