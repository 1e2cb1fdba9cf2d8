"""Support tickets: file_complaint, escalate_to_human, and the support-hours answer both give."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from tools.backend.interface import CommerceTransaction
from tools.context import ToolContext
from tools.i18n import Msg
from tools.lookup import customer_order, order_not_found
from tools.registry import read_tool, write_tool
from tools.results import N_, Plan, ToolResult, denied, msg, ok
from tools.ticket_records import open_ticket
from tools.values import FreeText, OrderId
from tools.words import condition_word

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def store_zone(ctx: ToolContext) -> ZoneInfo:
    try:
        return ZoneInfo(ctx.policy.store.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def human_availability(ctx: ToolContext) -> tuple[dict[str, Any], Msg]:
    """Is a human at work now (`escalation.support_days/open/close`, store time)? If not, when next.
    The facts, and when a human answers as a catalog message (its English is also facts["when"])."""
    rules = ctx.policy.escalation
    zone = store_zone(ctx)
    local = ctx.now().astimezone(zone)
    opens, closes = time.fromisoformat(rules.support_open), time.fromisoformat(rules.support_close)
    if WEEKDAYS[local.weekday()] in rules.support_days and opens <= local.time() < closes:
        return _availability(True, None, msg(N_("A human will pick this up shortly.")))
    for ahead in range(0, 8):
        day = local.date() + timedelta(days=ahead)
        if WEEKDAYS[day.weekday()] in rules.support_days and (ahead > 0 or local.time() < opens):
            at = datetime.combine(day, opens, tzinfo=zone)
            return _availability(False, at.isoformat(), msg(
                N_("Our team is offline now; a human will answer on the next business day, {day:EEEE} {day} at "
                   "{opens} ({zone} time)."), day=day, opens=rules.support_open, zone=zone.key))
    return _availability(False, None, msg(N_("A human will answer as soon as possible.")))


def _availability(online: bool, next_at: str | None, when: Msg) -> tuple[dict[str, Any], Msg]:
    return {"humans_online": online, "next_human_at": next_at, "when": when.text}, when


def is_urgent(ctx: ToolContext, text: str) -> bool:
    """The policy's urgent words in the text, in any script (case and width folded)."""
    def fold(t: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", t).casefold().split())

    return any(_has_word(fold(text), fold(w)) for w in ctx.policy.escalation.urgent_keywords)


def _has_word(text: str, word: str) -> bool:
    """A whole word of a spaced script ("sue", not in "issue"; also right next to Chinese), or a word of
    an unspaced one (律师) anywhere."""
    for match in re.finditer(re.escape(word), text):
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        if not (_spaced_letter(before) and _spaced_letter(word[0]) or _spaced_letter(after) and _spaced_letter(word[-1])):
            return True
    return False


def _spaced_letter(char: str) -> bool:
    """A letter of a script that separates words with spaces (not Chinese, Japanese kana or Thai)."""
    return char.isalnum() and not re.match(r"[\u0e00-\u0e7f\u2e80-\u9fff\uf900-\ufaff]", char)


ComplaintCategory = Literal["defective", "wrong_item", "billing", "other"]


class FileComplaintArgs(BaseModel):
    category: ComplaintCategory = Field(description="defective item, wrong_item received, billing problem (e.g. a double charge), or other.")
    summary: FreeText(1000, min_length=1) = Field(description="What happened, in the customer's words.")
    order_id: OrderId | None = Field(default=None, description="The order concerned, if any, e.g. W1002.")


@write_tool()
def file_complaint(ctx: ToolContext, args: FileComplaintArgs) -> Plan | ToolResult:
    """Open a complaint ticket for the verified customer (defective item, wrong item, billing problem such as a double charge, or other) and get the remedy the policy offers. The customer must confirm."""
    remedies = ctx.policy.complaints.categories
    if args.category not in remedies:
        return denied("complaints.categories", msg(N_("Complaints about '{category}' are handled by a human agent."),
                                                   category=condition_word(args.category)),
                      facts={"category": args.category}, alternatives=[msg(N_("escalate to a human"))])
    order = None
    if args.order_id is not None:
        order = customer_order(ctx, args.order_id)
        if order is None:
            return order_not_found(args.order_id)
    remedy = remedies[args.category]
    summary_text = args.summary.strip()
    priority = "urgent" if is_urgent(ctx, summary_text) else "normal"
    facts = {"category": condition_word(args.category), "summary": summary_text, "remedy": remedy}
    if order:
        summary = msg(N_("Open a {category} complaint about order {order_id}: {summary}. Remedy: {remedy}."),
                      order_id=order.id, **facts)
    else:
        summary = msg(N_("Open a {category} complaint: {summary}. Remedy: {remedy}."), **facts)
    next_step = ("start_return with condition " + args.category
                 if order is not None and args.category in ("defective", "wrong_item") else None)

    def apply(tx: CommerceTransaction) -> dict:
        ticket_id = open_ticket(tx, ctx, kind="complaint", category=args.category, priority=priority,
                                summary=summary_text, order_id=order.id if order else None, remedy=remedy)
        return {"ticket_id": ticket_id}

    return Plan(summary=summary, apply=apply,
                done=msg(N_("Your complaint is recorded. What we offer: {remedy}."), remedy=remedy),
                data={"category": args.category, "remedy": remedy, "priority": priority,
                      "order_id": order.id if order else None,
                      **({"next_step": next_step} if next_step else {})})


EscalationReason = Literal["customer_request", "out_of_scope", "approval_required", "safety_or_legal",
                           "verification_locked", "other"]


class EscalateToHumanArgs(BaseModel):
    reason: EscalationReason = Field(description="Why a human is needed.")
    summary: FreeText(1000, min_length=1) = Field(description="What the customer needs, for the human agent, in one or two sentences.")
    order_id: OrderId | None = Field(default=None, description="The order concerned, if any.")


# A read-like tool that writes at once, with no confirmation: handing over to a human is the safe
# fallback for every refusal, so it must never be blocked behind a confirmation (or behind identity:
# a customer locked out of verification still gets a human). It changes no order and no money; it
# only records a ticket.
@read_tool(requires_identity=False)
def escalate_to_human(ctx: ToolContext, args: EscalateToHumanArgs) -> ToolResult:
    """Hand the conversation to a human agent: when the customer asks for one, the request is out of scope, a rule needs human approval, there is a safety or legal issue, or verification is locked. Works before verification. Tells when a human will answer."""
    summary = args.summary.strip()
    urgent = args.reason == "safety_or_legal" or is_urgent(ctx, summary)
    priority = "urgent" if urgent else "high" if args.reason == "approval_required" else "normal"
    order_id = None
    if args.order_id is not None:
        if customer_order(ctx, args.order_id) is not None:
            order_id = args.order_id
        else:  # unverified or not theirs: keep it for the human, without confirming that it exists
            summary = f"{summary} (order mentioned: {args.order_id})"
    availability, when = human_availability(ctx)
    with ctx.store.transaction(ctx.customer_id) as tx:
        # The same request twice (a model retrying) stays one ticket.
        existing = tx.open_ticket_like(ctx.customer_id, "escalation", summary)
        if existing is not None:
            ticket_id, priority = existing.id, existing.priority
        else:
            ticket_id = open_ticket(tx, ctx, kind="escalation", category=args.reason, priority=priority,
                                    summary=summary, order_id=order_id)
    return ok(msg(N_("A human agent has been asked to help (ticket {ticket_id}). {when}"), ticket_id=ticket_id,
                  when=when),
              ticket_id=ticket_id, priority=priority, **availability)
