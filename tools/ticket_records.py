"""Writing support tickets, shared by the tools that open them (complaints, escalations, lost-package
claims). No tool lives here, so importing it registers nothing."""

from __future__ import annotations

import uuid

from tools.backend.interface import CommerceTransaction
from tools.backend.records import Ticket
from tools.context import ToolContext
from tools.values import iso

LOST_REFUND_AWAITING = "awaiting_refund"  # a lost-package claim whose refund is not paid yet


def open_ticket(tx: CommerceTransaction, ctx: ToolContext, *, kind: str, category: str, priority: str,
                summary: str, order_id: str | None = None, remedy: str | None = None,
                status: str = "open") -> str:
    ticket_id = "T" + uuid.uuid4().hex[:8].upper()
    tx.open_ticket(Ticket(id=ticket_id, customer_id=ctx.customer_id, order_id=order_id, kind=kind, category=category,
                          priority=priority, summary=summary, status=status, remedy=remedy, created_at=iso(ctx.now())))
    return ticket_id
