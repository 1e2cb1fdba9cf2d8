"""Returns: one assessment (`assess_return`) decides eligibility and computes the refund for both
check_refund_eligibility (read) and start_return (write), so the two can never disagree."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from tools.amounts import percent_of, share_of
from tools.context import ToolContext
from tools.lookup import customer_order, order_not_found
from tools.policy import Condition
from tools.registry import read_tool, write_tool
from tools.results import Plan, ToolResult, denied, error, ok
from tools.shipping import as_utc
from tools.values import FreeText, OrderId, iso, money

NOT_DELIVERED_RULE = "returns.after_delivery_only"
ALREADY_RETURNED_RULE = "returns.once_per_item"
OPEN_RETURN_STATUSES = ("label_sent", "authorized", "received")  # not yet refunded or cancelled


@dataclass
class ReturnQuote:
    order: dict[str, Any]
    lines: list[dict[str, Any]]
    condition: str
    items_cents: int
    tax_cents: int
    shipping_cents: int
    fee_cents: int
    refund_cents: int
    prepaid_label: bool
    needs_approval: bool
    deadline: str
    notes: list[str] = field(default_factory=list)

    def data(self) -> dict[str, Any]:
        return {
            "order_id": self.order["id"],
            "line_ids": [l["id"] for l in self.lines],
            "items": [f"{l['quantity']} x {l['product_name']}" for l in self.lines],
            "condition": self.condition,
            "items_total": money(self.items_cents),
            "tax_refunded": money(self.tax_cents),
            "shipping_refunded": money(self.shipping_cents),
            "restocking_fee": money(self.fee_cents),
            "refund_amount": money(self.refund_cents),
            "prepaid_label": self.prepaid_label,
            "needs_human_approval": self.needs_approval,
            "return_by": self.deadline,
        }

    def breakdown(self) -> str:
        parts = [f"items {money(self.items_cents)}"]
        if self.tax_cents:
            parts.append(f"tax {money(self.tax_cents)}")
        if self.shipping_cents:
            parts.append(f"original shipping {money(self.shipping_cents)}")
        if self.fee_cents:
            parts.append(f"minus a {self.fee_percent_text} restocking fee of {money(self.fee_cents)}")
        return ", ".join(parts)

    fee_percent_text: str = ""


def returned_line_ids(ctx: ToolContext, order_id: str) -> set[int]:
    rows = ctx.store.all("SELECT rl.order_line_id FROM returns r JOIN return_lines rl ON rl.return_id = r.id "
                         "WHERE r.order_id = ? AND r.status != 'cancelled'", (order_id,))
    return {r["order_line_id"] for r in rows}


def refundable_left(ctx: ToolContext, order: dict[str, Any]) -> int:
    """What can still be given back on this order: its total minus refunds made and refunds already
    promised by open returns. No refund path may go past this."""
    refunded = ctx.store.one("SELECT coalesce(sum(amount_cents), 0) AS s FROM refunds WHERE order_id = ?",
                             (order["id"],))["s"]
    promised = ctx.store.one(
        "SELECT coalesce(sum(refund_cents), 0) AS s FROM returns WHERE order_id = ? AND status IN "
        f"({','.join('?' * len(OPEN_RETURN_STATUSES))}) AND id NOT IN "
        "(SELECT return_id FROM refunds WHERE order_id = ? AND return_id IS NOT NULL)",
        (order["id"], *OPEN_RETURN_STATUSES, order["id"]))["s"]
    return max(order["total_cents"] - refunded - promised, 0)


def assess_return(ctx: ToolContext, order_id: str, line_ids: list[int] | None,
                  condition: str) -> ReturnQuote | ToolResult:
    """Can these lines of this order be returned in this condition, and for how much? A quote, or the
    denial naming the rule that decided."""
    rules = ctx.policy.returns
    order = customer_order(ctx, order_id)
    if order is None:
        return order_not_found(order_id)
    delivered = as_utc(order["delivered_at"])
    if delivered is None:
        status = order["status"].replace("_", " ")
        alternatives = (["cancel the order instead"] if order["status"] in ctx.policy.cancellation.allowed_statuses
                        else ["track the shipment"] if order["status"] in ("shipped", "out_for_delivery") else [])
        return denied(NOT_DELIVERED_RULE, f"Order {order['id']} is {status}; a return can be started only "
                      f"after delivery.", facts={"order_id": order["id"], "status": order["status"]},
                      alternatives=alternatives)
    known = {l["id"] for l in order["lines"]}
    if line_ids:
        unknown = [i for i in line_ids if i not in known]
        if unknown:
            return error(f"Order {order['id']} has no item line(s) {', '.join(map(str, unknown))}. Its lines "
                         f"are {', '.join(str(i) for i in sorted(known))}.")
    returned = returned_line_ids(ctx, order["id"])
    wanted = [l for l in order["lines"] if (not line_ids or l["id"] in line_ids)]
    again = [l for l in wanted if l["id"] in returned]
    if again and (line_ids or len(again) == len(wanted)):
        existing = ctx.store.one("SELECT id, status, refund_cents FROM returns WHERE order_id = ? AND status != "
                                 "'cancelled' ORDER BY created_at DESC LIMIT 1", (order["id"],))
        return denied(ALREADY_RETURNED_RULE,
                      f"A return is already open or done for {', '.join(l['product_name'] for l in again)} "
                      f"on order {order['id']} (return {existing['id']}, {existing['status'].replace('_', ' ')}, "
                      f"refund {money(existing['refund_cents'] or 0)}).",
                      facts={"order_id": order["id"], "return_id": existing["id"],
                             "return_status": existing["status"]},
                      alternatives=["ask about the existing return's refund"])
    lines = [l for l in wanted if l["id"] not in returned]
    now = ctx.now()
    deadline = delivered + timedelta(days=rules.window_days)
    if now > deadline:
        days = int((now - delivered).total_seconds() // 86400)
        return denied("returns.window_days",
                      f"Order {order['id']} was delivered {days} days ago; returns are accepted within "
                      f"{rules.window_days} days of delivery (until {iso(deadline)[:10]}).",
                      facts={"order_id": order["id"], "delivered_at": order["delivered_at"],
                             "days_since_delivery": days, "window_days": rules.window_days},
                      alternatives=["file a complaint if the item is defective or wrong",
                                    "ask for a human agent"])
    final = [l for l in lines if l["final_sale"]]
    if final and condition not in rules.final_sale_allowed_conditions:
        regular = [l["id"] for l in lines if not l["final_sale"]]
        return denied("returns.final_sale_allowed_conditions",
                      f"{', '.join(l['product_name'] for l in final)} is final sale and can be returned only "
                      f"if {' or '.join(c.replace('_', ' ') for c in rules.final_sale_allowed_conditions)}.",
                      facts={"final_sale_line_ids": [l["id"] for l in final], "condition": condition},
                      alternatives=([f"return only the other item line(s): {regular}"] if regular else [])
                      + ["file a complaint if the item is defective or wrong"])
    items = sum(l["unit_price_cents"] * l["quantity"] for l in lines)
    tax = share_of(items, order["subtotal_cents"], order["tax_cents"])
    shipping = 0
    if condition in rules.shipping_refund_conditions:
        already = ctx.store.one(
            "SELECT 1 AS x FROM returns WHERE order_id = ? AND status != 'cancelled' AND condition IN "
            f"({','.join('?' * len(rules.shipping_refund_conditions))})",
            (order["id"], *rules.shipping_refund_conditions))
        shipping = 0 if already else order["shipping_cents"]
    fee = 0 if condition in rules.full_refund_conditions else percent_of(items, rules.restocking_fee_percent)
    refund = min(items + tax + shipping - fee, refundable_left(ctx, order))
    quote = ReturnQuote(
        order=order, lines=lines, condition=condition, items_cents=items, tax_cents=tax,
        shipping_cents=shipping, fee_cents=fee, refund_cents=max(refund, 0),
        prepaid_label=condition in rules.prepaid_label_conditions,
        needs_approval=refund > ctx.policy.refunds.approval_threshold_cents,
        deadline=iso(deadline)[:10], fee_percent_text=f"{rules.restocking_fee_percent:g}%")
    if quote.needs_approval:
        quote.notes.append(f"The refund is above {money(ctx.policy.refunds.approval_threshold_cents)}, so a "
                           f"human must approve it before it is paid.")
    return quote


class CheckRefundEligibilityArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1002.")
    line_ids: list[StrictInt] | None = Field(default=None, description="Item lines to return; leave empty for every item of the order.")
    condition: Condition | None = Field(default=None, description="The item's condition if the customer said it: unopened, opened (used, not defective), defective, or wrong_item (not what was ordered). Leave empty to get the refund for each condition.")


CONDITIONS: tuple[str, ...] = ("unopened", "opened", "defective", "wrong_item")


def _quote_text(quote: ReturnQuote) -> str:
    return (f"{money(quote.refund_cents)} ({quote.breakdown()}"
            f"{', prepaid return label' if quote.prepaid_label else ''})")


@read_tool()
def check_refund_eligibility(ctx: ToolContext, args: CheckRefundEligibilityArgs) -> ToolResult:
    """Check whether items of one of the verified customer's delivered orders can be returned, and compute the exact refund (restocking fee, shipping, label), for the condition given or for each condition. Changes nothing; use start_return to act."""
    if args.condition is not None:
        quote = assess_return(ctx, args.order_id, args.line_ids, args.condition)
        if isinstance(quote, ToolResult):
            return quote
        message = (f"Eligible: returning {', '.join(quote.data()['items'])} from order {quote.order['id']} "
                   f"({args.condition.replace('_', ' ')}) refunds {_quote_text(quote)}. " + " ".join(quote.notes))
        return ok(message.strip(), eligible=True, **quote.data())
    # No condition yet: the refund depends on it, so answer for each one the customer might give.
    outcomes = {c: assess_return(ctx, args.order_id, args.line_ids, c) for c in CONDITIONS}
    quotes = {c: q for c, q in outcomes.items() if isinstance(q, ReturnQuote)}
    if not quotes:
        return outcomes[CONDITIONS[0]]  # the same denial for every condition (window, delivery, ...)
    first = next(iter(quotes.values()))
    by_condition = {c: {"refund_amount": money(q.refund_cents), "restocking_fee": money(q.fee_cents),
                        "prepaid_label": q.prepaid_label, "needs_human_approval": q.needs_approval}
                    for c, q in quotes.items()}
    not_allowed = {c: outcomes[c].message for c in CONDITIONS if c not in quotes}
    parts = [f"{c.replace('_', ' ')}: {_quote_text(q)}" for c, q in quotes.items()]
    message = (f"Order {first.order['id']} can be returned until {first.deadline}. Refund by the item's condition "
               f"- " + "; ".join(parts) + ". "
               + "".join(m + " " for m in dict.fromkeys(not_allowed.values()))
               + " ".join(first.notes) + " Ask the customer for the item's condition.")
    data = {k: v for k, v in first.data().items()
            if k not in ("condition", "restocking_fee", "refund_amount", "prepaid_label", "needs_human_approval",
                         "tax_refunded", "shipping_refunded")}
    options = list(dict.fromkeys(a for c in not_allowed for a in outcomes[c].alternatives))
    return ok(" ".join(message.split()), eligible=True, refund_by_condition=by_condition,
              only_if=list(quotes) if not_allowed else None, other_options=options or None, **data)


class StartReturnArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1002.")
    line_ids: list[StrictInt] | None = Field(default=None, description="Item lines to return; leave empty for every item of the order.")
    reason: FreeText(500, min_length=1) = Field(description="Why the customer returns it, in their words.")
    condition: Condition = Field(description="The item's condition: unopened, opened (used, not defective), defective, or wrong_item (not what was ordered).")


def _label_url(ctx: ToolContext, rma: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", ctx.policy.store.name.lower()).strip("-") or "store"
    return f"https://{slug}.example/returns/{rma}/label.pdf"


@write_tool()
def start_return(ctx: ToolContext, args: StartReturnArgs) -> Plan | ToolResult:
    """Start a return (RMA) for items of one of the verified customer's delivered orders; computes the refund and sends a prepaid label when the item is defective or wrong. The customer must confirm."""
    quote = assess_return(ctx, args.order_id, args.line_ids, args.condition)
    if isinstance(quote, ToolResult):
        return quote
    order = quote.order
    reason = args.reason.strip()
    label = ("A prepaid return label will be emailed." if quote.prepaid_label
             else "The customer ships the items back at their own cost.")
    summary = (f"Start a return for {', '.join(quote.data()['items'])} from order {order['id']} "
               f"({args.condition.replace('_', ' ')}; reason: {reason}). Refund {money(quote.refund_cents)} "
               f"({quote.breakdown()}). {label} " + " ".join(quote.notes)).strip()

    def apply(db) -> dict:
        rma = "RMA" + uuid.uuid4().hex[:8].upper()
        now = iso(ctx.now())
        label_url = _label_url(ctx, rma) if quote.prepaid_label else None
        status = "label_sent" if quote.prepaid_label else "authorized"
        db.execute("INSERT INTO returns (id, order_id, customer_id, reason, condition, status, label_url, "
                   "refund_cents, restocking_fee_cents, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                   (rma, order["id"], order["customer_id"], reason, args.condition, status, label_url,
                    quote.refund_cents, quote.fee_cents, now))
        db.conn.executemany("INSERT INTO return_lines (return_id, order_line_id, quantity) VALUES (?,?,?)",
                       [(rma, l["id"], l["quantity"]) for l in quote.lines])
        db.execute("UPDATE orders SET status = 'return_requested', updated_at = ? WHERE id = ?", (now, order["id"]))
        return {"return_id": rma, "return_status": status, "label_url": label_url}

    done = (f"Return started for order {order['id']}. Refund due: {money(quote.refund_cents)}"
            f"{' (a human must approve it first)' if quote.needs_approval else ''}. {label}")
    next_step = "escalate_to_human" if quote.needs_approval else "issue_refund"
    return Plan(summary=summary, apply=apply, done_message=done, data={**quote.data(), "next_step": next_step})
