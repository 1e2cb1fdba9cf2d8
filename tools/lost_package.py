"""report_lost_package: a claim for a parcel that stopped moving, with a replacement or a refund."""

from __future__ import annotations

from typing import Any, Literal

import sqlite_utils
from pydantic import BaseModel, Field

from tools.address import format_address
from tools.context import ToolContext
from tools.lookup import customer_order, order_not_found, payment_method
from tools.refund_rules import record_refund, refund_timing
from tools.registry import write_tool
from tools.results import Plan, ToolResult, denied
from tools.shipping import IN_TRANSIT, movement_status, order_shipment
from tools.ticket_records import LOST_REFUND_AWAITING, open_ticket
from tools.values import OrderId, iso, money


def next_order_id(db: sqlite_utils.Database) -> str:
    """A fresh order id (W + number). The next number is kept in store_meta so the max over all orders
    is computed once per store, not on every replacement."""
    row = db.execute("SELECT value FROM store_meta WHERE key = 'next_order_number'").fetchone()
    if row is not None:
        number = int(row[0])
    else:
        number = db.execute("SELECT coalesce(max(CAST(substr(id, 2) AS INTEGER)), 1000) FROM orders "
                            "WHERE id LIKE 'W%'").fetchone()[0] + 1
    while db.execute("SELECT 1 FROM orders WHERE id = ?", (f"W{number}",)).fetchone() is not None:
        number += 1
    db.execute("INSERT OR REPLACE INTO store_meta (key, value) VALUES ('next_order_number', ?)", (str(number + 1),))
    return f"W{number}"


def create_replacement(db: sqlite_utils.Database, ctx: ToolContext, order: dict[str, Any]) -> str:
    """A new order with the same lines, shipped to the same address, at no charge (prices 0, so it can
    never be refunded as if it had been paid)."""
    new_id = next_order_id(db)
    now = iso(ctx.now())
    db.execute(
        "INSERT INTO orders (id, customer_id, status, payment_method_id, ship_name, ship_line1, ship_line2, "
        "ship_city, ship_state, ship_zip, ship_country, subtotal_cents, shipping_cents, tax_cents, total_cents, "
        "placed_at, updated_at) VALUES (?,?,'processing',?,?,?,?,?,?,?,?,0,0,0,0,?,?)",
        (new_id, order["customer_id"], order["payment_method_id"], order["ship_name"], order["ship_line1"],
         order["ship_line2"], order["ship_city"], order["ship_state"], order["ship_zip"], order["ship_country"],
         now, now))
    for line in order["lines"]:
        db.execute("INSERT INTO order_lines (order_id, variant_id, product_id, product_name, variant_desc, quantity, "
                   "unit_price_cents, final_sale) VALUES (?,?,?,?,?,?,0,?)",
                   (new_id, line["variant_id"], line["product_id"], line["product_name"], line["variant_desc"],
                    line["quantity"], line["final_sale"]))
        if line["variant_id"]:
            db.execute("UPDATE variants SET stock = stock - ? WHERE id = ?", (line["quantity"], line["variant_id"]))
    return new_id


class ReportLostPackageArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W2001.")
    remedy: Literal["replacement", "refund"] = Field(description="What the customer chose: a replacement sent at no charge, or a full refund.")


@write_tool()
def report_lost_package(ctx: ToolContext, args: ReportLostPackageArgs) -> Plan | ToolResult:
    """File a lost-package claim for one of the verified customer's orders whose tracking has not moved for a long time and whose estimated delivery has passed; the customer chooses a free replacement or a full refund. The customer must confirm."""
    rules = ctx.policy.tracking
    order = customer_order(ctx, args.order_id)
    if order is None:
        return order_not_found(args.order_id)
    if args.remedy not in rules.lost_remedies:
        return denied("tracking.lost_remedies", f"A lost package can be resolved with "
                      f"{' or '.join(rules.lost_remedies)}, not a {args.remedy}.",
                      facts={"remedy": args.remedy}, alternatives=[f"choose {r}" for r in rules.lost_remedies])
    shipment = order_shipment(ctx, order["id"])
    if shipment is None or order["status"] not in IN_TRANSIT or shipment["delivered_at"]:
        delivered = order["status"] == "delivered" or (shipment is not None and shipment["delivered_at"])
        return denied("tracking.lost_claims_in_transit_only",
                      f"Order {order['id']} is {order['status'].replace('_', ' ')}; a lost-package claim is "
                      f"for a parcel still in transit.",
                      facts={"order_id": order["id"], "status": order["status"]},
                      alternatives=(["file a complaint", "ask for a human agent"] if delivered
                                    else ["track the order"]))
    claim = ctx.store.one("SELECT id, status FROM tickets WHERE order_id = ? AND kind = 'lost_package'",
                          (order["id"],))
    if claim is not None:
        return denied("tracking.one_claim_per_order", f"A lost-package claim is already open for order "
                      f"{order['id']} (ticket {claim['id']}).",
                      facts={"order_id": order["id"], "ticket_id": claim["id"], "ticket_status": claim["status"]},
                      alternatives=["ask for a human agent"])
    move = movement_status(ctx, order, shipment)
    if move["days_without_movement"] < rules.lost_after_days_without_movement:
        return denied("tracking.lost_after_days_without_movement",
                      f"Order {order['id']} last moved {move['days_without_movement']:g} days ago; a package "
                      f"counts as lost after {rules.lost_after_days_without_movement} days without movement.",
                      facts={"order_id": order["id"], "days_without_movement": move["days_without_movement"],
                             "required_days": rules.lost_after_days_without_movement,
                             "claim_possible_from": move["lost_claim_possible_from"]},
                      alternatives=[f"report it again from {move['lost_claim_possible_from'][:10]} if it has not "
                                    f"moved", "track the order"])
    if rules.lost_requires_estimate_passed and not move["estimate_passed"]:
        return denied("tracking.lost_requires_estimate_passed",
                      f"Order {order['id']} is still expected by {shipment['estimated_delivery']}; a lost-package "
                      f"claim is possible once that date has passed.",
                      facts={"order_id": order["id"], "estimated_delivery": shipment["estimated_delivery"]},
                      alternatives=["wait until the estimated delivery has passed"])
    pm = payment_method(ctx, order["payment_method_id"])
    if args.remedy == "replacement":
        short = [l for l in order["lines"] if l["variant_id"] and (ctx.store.one(
            "SELECT stock FROM variants WHERE id = ?", (l["variant_id"],)) or {"stock": 0})["stock"] < l["quantity"]]
        if short:
            return denied("tracking.replacement_in_stock",
                          f"{', '.join(l['product_name'] for l in short)} is out of stock, so a replacement "
                          f"cannot be sent now.", facts={"out_of_stock_line_ids": [l["id"] for l in short]},
                          alternatives=["choose a refund instead"])
        items = ", ".join(f"{l['quantity']} x {l['product_name']}"
                          + (f" ({l['variant_desc']})" if l["variant_desc"] else "") for l in order["lines"])
        ship_to = format_address(order["ship_name"], order["ship_line1"], order["ship_line2"], order["ship_city"],
                                 order["ship_state"], order["ship_zip"], order["ship_country"])
        summary = (f"File a lost-package claim for order {order['id']} and send a replacement of the same "
                   f"items ({items}) to the same address ({ship_to}) at no charge.")
        done = "The claim is filed and a replacement order is on its way to processing, at no charge."

        def apply(db) -> dict:
            new_id = create_replacement(db, ctx, order)
            ticket = open_ticket(db, ctx, kind="lost_package", category="replacement", priority="normal",
                                 summary=f"Lost package, replacement order {new_id}", order_id=order["id"],
                                 remedy=f"replacement order {new_id}", status="resolved")
            return {"ticket_id": ticket, "replacement_order_id": new_id}

        return Plan(summary=summary, apply=apply, done_message=done,
                    data={"order_id": order["id"], "remedy": "replacement", "charge": money(0)})

    refunded = ctx.store.one("SELECT coalesce(sum(amount_cents), 0) AS s FROM refunds WHERE order_id = ?",
                             (order["id"],))["s"]
    amount = max(order["total_cents"] - refunded, 0)
    threshold = ctx.policy.refunds.approval_threshold_cents
    needs_approval = amount > threshold
    timing = refund_timing(ctx, pm)
    if needs_approval:
        # The claim is valid; only the payout waits for a human, so file it and let issue_refund (after
        # approval) or a human pay it. rule: refunds.approval_threshold
        summary = (f"File a lost-package claim for order {order['id']} with a refund of {money(amount)}; it is "
                   f"above {money(threshold)}, so a human must approve the refund first.")
        done = (f"The claim is filed. The refund of {money(amount)} needs a human's approval "
                f"(refunds.approval_threshold); a human agent will follow up.")
    else:
        summary = (f"File a lost-package claim for order {order['id']} and refund {money(amount)} to "
                   f"{timing['refund_to']} {timing['timing']}.")
        done = f"The claim is filed and {money(amount)} is refunded to {timing['refund_to']} {timing['timing']}."

    def apply(db) -> dict:
        ticket = open_ticket(db, ctx, kind="lost_package", category="refund",
                             priority="high" if needs_approval else "normal",
                             summary=f"Lost package, refund {money(amount)}", order_id=order["id"],
                             remedy=f"refund {money(amount)}",
                             status=LOST_REFUND_AWAITING if needs_approval else "resolved")
        out: dict[str, Any] = {"ticket_id": ticket}
        if not needs_approval and amount > 0:
            out.update(record_refund(db, ctx, order=order, amount_cents=amount, pm=pm,
                                     reason=f"lost package claim {ticket}"))
        return out

    return Plan(summary=summary, apply=apply, done_message=done,
                data={"order_id": order["id"], "remedy": "refund", "refund_amount": money(amount),
                      "needs_human_approval": needs_approval,
                      **({} if needs_approval else {"refund_to": timing["refund_to"], "timing": timing["timing"]})})
