"""Returns: one assessment (`assess_return`) decides eligibility and computes the refund for both
check_refund_eligibility (read) and start_return (write), so the two can never disagree."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, StrictInt

from tools.amounts import percent_of, share_of
from tools.backend.interface import CommerceTransaction
from tools.backend.records import NewReturn, Order, OrderLine, Return
from tools.context import ToolContext
from tools.i18n import Listing, Money, Msg
from tools.lookup import customer_order, order_not_found
from tools.policy import Condition
from tools.registry import read_tool, write_tool
from tools.results import N_, NP_, Plan, ToolResult, denied, error, msg, ok
from tools.shipping import as_utc
from tools.values import FreeText, OrderId, as_date, iso, money
from tools.words import RETURN_STATUS, condition_word, status_word, word

NOT_DELIVERED_RULE = "returns.after_delivery_only"
ALREADY_RETURNED_RULE = "returns.once_per_item"
OPEN_RETURN_STATUSES = ("label_sent", "authorized", "received")  # not yet refunded or cancelled


@dataclass
class ReturnQuote:
    order: Order
    lines: list[OrderLine]
    condition: str
    items_cents: int
    tax_cents: int
    shipping_cents: int
    fee_cents: int
    refund_cents: int
    prepaid_label: bool
    needs_approval: bool
    deadline: str
    notes: list[Msg] = field(default_factory=list)
    fee_percent: Decimal = Decimal(0)
    currency: str = "USD"

    def data(self) -> dict[str, Any]:
        return {
            "order_id": self.order.id,
            "line_ids": [l.id for l in self.lines],
            "items": [f"{l.quantity} x {l.product_name}" for l in self.lines],
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

    def amount(self, cents: int) -> Money:
        return Money(cents=cents, currency=self.currency)

    def breakdown(self) -> Listing:
        parts = [msg(N_("items {amount}"), amount=self.amount(self.items_cents))]
        if self.tax_cents:
            parts.append(msg(N_("tax {amount}"), amount=self.amount(self.tax_cents)))
        if self.shipping_cents:
            parts.append(msg(N_("original shipping {amount}"), amount=self.amount(self.shipping_cents)))
        if self.fee_cents:
            parts.append(msg(N_("minus a {percent}% restocking fee of {amount}"), percent=self.fee_percent,
                             amount=self.amount(self.fee_cents)))
        return Listing(items=parts)

    def items_listing(self) -> Listing:
        return Listing(items=[msg(N_("{quantity} x {product}"), quantity=l.quantity, product=l.product_name)
                              for l in self.lines])


def live_returns(ctx: ToolContext, order_id: str) -> list[Return]:
    """The order's returns that are not cancelled (open or done), oldest first."""
    return [r for r in ctx.store.order_returns(order_id) if r.status != "cancelled"]


def refundable_left(ctx: ToolContext, order: Order) -> int:
    """What can still be given back on this order: its total minus refunds made and refunds already
    promised by open returns. No refund path may go past this."""
    refunds = ctx.store.order_refunds(order.id)
    paid = {r.return_id for r in refunds if r.return_id}
    promised = sum(r.refund_cents or 0 for r in ctx.store.order_returns(order.id)
                   if r.status in OPEN_RETURN_STATUSES and r.id not in paid)
    return max(order.total_cents - sum(r.amount_cents for r in refunds) - promised, 0)


def assess_return(ctx: ToolContext, order_id: str, line_ids: list[int] | None,
                  condition: str) -> ReturnQuote | ToolResult:
    """Can these lines of this order be returned in this condition, and for how much? A quote, or the
    denial naming the rule that decided."""
    rules = ctx.policy.returns
    order = customer_order(ctx, order_id)
    if order is None:
        return order_not_found(order_id)
    delivered = as_utc(order.delivered_at)
    if delivered is None:
        alternatives = ([msg(N_("cancel the order instead"))]
                        if order.status in ctx.policy.cancellation.allowed_statuses
                        else [msg(N_("track the shipment"))] if order.status in ("shipped", "out_for_delivery")
                        else [])
        return denied(NOT_DELIVERED_RULE,
                      msg(N_("Order {order_id} is {status}; a return can be started only after delivery."),
                          order_id=order.id, status=status_word(order.status)),
                      facts={"order_id": order.id, "status": order.status}, alternatives=alternatives)
    known = {l.id for l in order.lines}
    if line_ids:
        unknown = [i for i in line_ids if i not in known]
        if unknown:
            return error(f"Order {order.id} has no item line(s) {', '.join(map(str, unknown))}. Its lines "
                         f"are {', '.join(str(i) for i in sorted(known))}.")
    returns = live_returns(ctx, order.id)
    returned = {i for r in returns for i in r.line_ids}
    wanted = [l for l in order.lines if (not line_ids or l.id in line_ids)]
    again = [l for l in wanted if l.id in returned]
    if again and (line_ids or len(again) == len(wanted)):
        existing = returns[-1]
        return denied(ALREADY_RETURNED_RULE,
                      msg(N_("A return is already open or done for {products} on order {order_id} (return "
                             "{return_id}, {return_status}, refund {refund})."),
                          products=Listing(items=[l.product_name for l in again]), order_id=order.id,
                          return_id=existing.id, return_status=word(RETURN_STATUS, existing.status),
                          refund=ctx.money(existing.refund_cents or 0)),
                      facts={"order_id": order.id, "return_id": existing.id,
                             "return_status": existing.status},
                      alternatives=[msg(N_("ask about the existing return's refund"))])
    lines = [l for l in wanted if l.id not in returned]
    now = ctx.now()
    deadline = delivered + timedelta(days=rules.window_days)
    if now > deadline:
        days = int((now - delivered).total_seconds() // 86400)
        return denied("returns.window_days",
                      msg(NP_("Order {order_id} was delivered {count} day ago; returns are accepted within "
                              "{window_days} days of delivery (until {deadline}).",
                              "Order {order_id} was delivered {count} days ago; returns are accepted within "
                              "{window_days} days of delivery (until {deadline})."),
                          order_id=order.id, count=days, window_days=rules.window_days,
                          deadline=as_date(iso(deadline))),
                      facts={"order_id": order.id, "delivered_at": order.delivered_at,
                             "days_since_delivery": days, "window_days": rules.window_days},
                      alternatives=[msg(N_("file a complaint if the item is defective or wrong")),
                                    msg(N_("ask for a human agent"))])
    final = [l for l in lines if l.final_sale]
    if final and condition not in rules.final_sale_allowed_conditions:
        regular = [l.product_name for l in lines if not l.final_sale]
        only = ([msg(NP_("return only the other item: {products}", "return only the other items: {products}"),
                     count=len(regular), products=Listing(items=regular))] if regular else [])
        return denied("returns.final_sale_allowed_conditions",
                      msg(N_("{products} is final sale and can be returned only if {conditions}."),
                          products=Listing(items=[l.product_name for l in final]),
                          conditions=Listing(items=[condition_word(c) for c in rules.final_sale_allowed_conditions],
                                             style="or")),
                      facts={"final_sale_line_ids": [l.id for l in final], "condition": condition},
                      alternatives=only + [msg(N_("file a complaint if the item is defective or wrong"))])
    items = sum(l.unit_price_cents * l.quantity for l in lines)
    tax = share_of(items, order.subtotal_cents, order.tax_cents)
    shipping = 0
    if condition in rules.shipping_refund_conditions:
        already = any(r.condition in rules.shipping_refund_conditions for r in returns)
        shipping = 0 if already else order.shipping_cents
    fee = 0 if condition in rules.full_refund_conditions else percent_of(items, rules.restocking_fee_percent)
    refund = min(items + tax + shipping - fee, refundable_left(ctx, order))
    quote = ReturnQuote(
        order=order, lines=lines, condition=condition, items_cents=items, tax_cents=tax,
        shipping_cents=shipping, fee_cents=fee, refund_cents=max(refund, 0),
        prepaid_label=condition in rules.prepaid_label_conditions,
        needs_approval=refund > ctx.policy.refunds.approval_threshold_cents,
        deadline=iso(deadline)[:10], fee_percent=rules.restocking_fee_percent, currency=ctx.policy.store.currency)
    if quote.needs_approval:
        quote.notes.append(msg(N_("The refund is above {threshold}, so a human must approve it before it is paid."),
                               threshold=ctx.money(ctx.policy.refunds.approval_threshold_cents)))
    return quote


class CheckRefundEligibilityArgs(BaseModel):
    order_id: OrderId = Field(description="The order id, e.g. W1002.")
    line_ids: list[StrictInt] | None = Field(default=None, description="Item lines to return; leave empty for every item of the order.")
    condition: Condition | None = Field(default=None, description="The item's condition if the customer said it: unopened, opened (used, not defective), defective, or wrong_item (not what was ordered). Leave empty to get the refund for each condition.")


CONDITIONS: tuple[str, ...] = ("unopened", "opened", "defective", "wrong_item")


def _quote_text(quote: ReturnQuote) -> Msg:
    template = (N_("{refund} ({breakdown}, prepaid return label)") if quote.prepaid_label
                else N_("{refund} ({breakdown})"))
    return msg(template, refund=quote.amount(quote.refund_cents), breakdown=quote.breakdown())


@read_tool()
def check_refund_eligibility(ctx: ToolContext, args: CheckRefundEligibilityArgs) -> ToolResult:
    """Check whether items of one of the verified customer's delivered orders can be returned, and compute the exact refund (restocking fee, shipping, label), for the condition given or for each condition. Changes nothing; use start_return to act."""
    if args.condition is not None:
        quote = assess_return(ctx, args.order_id, args.line_ids, args.condition)
        if isinstance(quote, ToolResult):
            return quote
        message = msg(N_("Eligible: returning {items} from order {order_id} ({condition}) refunds {quote}. {notes}"),
                      items=quote.items_listing(), order_id=quote.order.id,
                      condition=condition_word(args.condition), quote=_quote_text(quote),
                      notes=Listing(items=quote.notes, style="sentences"))
        return ok(message, eligible=True, **quote.data())
    # No condition yet: the refund depends on it, so answer for each one the customer might give.
    outcomes = {c: assess_return(ctx, args.order_id, args.line_ids, c) for c in CONDITIONS}
    quotes = {c: q for c, q in outcomes.items() if isinstance(q, ReturnQuote)}
    if not quotes:
        return outcomes[CONDITIONS[0]]  # the same denial for every condition (window, delivery, ...)
    first = next(iter(quotes.values()))
    by_condition = {c: {"refund_amount": money(q.refund_cents), "restocking_fee": money(q.fee_cents),
                        "prepaid_label": q.prepaid_label, "needs_human_approval": q.needs_approval}
                    for c, q in quotes.items()}
    not_allowed = {c: outcomes[c] for c in CONDITIONS if c not in quotes}
    denials = {r.message: r.as_msg() for r in not_allowed.values()}
    refunds = [msg(N_("{condition}: {quote}"), condition=condition_word(c), quote=_quote_text(q))
               for c, q in quotes.items()]
    message = msg(N_("Order {order_id} can be returned until {deadline}. Refund by the item's condition - "
                     "{refunds}. {more}"), order_id=first.order.id, deadline=as_date(first.deadline),
                  refunds=Listing(items=refunds, style="semicolon"),
                  more=Listing(items=[*denials.values(), *first.notes], style="sentences"))
    data = {k: v for k, v in first.data().items()
            if k not in ("condition", "restocking_fee", "refund_amount", "prepaid_label", "needs_human_approval",
                         "tax_refunded", "shipping_refunded")}
    options = list(dict.fromkeys(a for r in not_allowed.values() for a in r.alternatives))
    return ok(message, note="Ask the customer for the item's condition.", eligible=True,
              refund_by_condition=by_condition, only_if=list(quotes) if not_allowed else None,
              other_options=options or None, **data)


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
    label = (msg(N_("A prepaid return label will be emailed.")) if quote.prepaid_label
             else msg(N_("You ship the items back at your own cost.")))
    summary = msg(N_("Start a return for {items} from order {order_id} ({condition}; reason: {reason}). "
                     "Refund {refund} ({breakdown}). {label} {notes}"),
                  items=quote.items_listing(), order_id=order.id, condition=condition_word(args.condition),
                  reason=reason, refund=quote.amount(quote.refund_cents), breakdown=quote.breakdown(), label=label,
                  notes=Listing(items=quote.notes, style="sentences"))

    def apply(tx: CommerceTransaction) -> dict:
        rma = "RMA" + uuid.uuid4().hex[:8].upper()
        label_url = _label_url(ctx, rma) if quote.prepaid_label else None
        status = "label_sent" if quote.prepaid_label else "authorized"
        tx.create_return(NewReturn(
            id=rma, order_id=order.id, customer_id=order.customer_id, reason=reason, condition=args.condition,
            status=status, label_url=label_url, refund_cents=quote.refund_cents, restocking_fee_cents=quote.fee_cents,
            created_at=iso(ctx.now()), lines=tuple((l.id, l.quantity) for l in quote.lines)))
        return {"return_id": rma, "return_status": status, "label_url": label_url}

    done = msg(N_("Return started for order {order_id}. Refund due: {refund} (a human must approve it first). "
                  "{label}") if quote.needs_approval else
               N_("Return started for order {order_id}. Refund due: {refund}. {label}"),
               order_id=order.id, refund=quote.amount(quote.refund_cents), label=label)
    next_step = "escalate_to_human" if quote.needs_approval else "issue_refund"
    return Plan(summary=summary, apply=apply, done=done, data={**quote.data(), "next_step": next_step})
