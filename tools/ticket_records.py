"""Writing support tickets, shared by the tools that open them (complaints, escalations, lost-package
claims). No tool lives here, so importing it registers nothing."""

from __future__ import annotations

import uuid

import sqlite_utils

from tools.context import ToolContext
from tools.values import iso

LOST_REFUND_AWAITING = "awaiting_refund"  # a lost-package claim whose refund is not paid yet


def open_ticket(db: sqlite_utils.Database, ctx: ToolContext, *, kind: str, category: str, priority: str,
                summary: str, order_id: str | None = None, remedy: str | None = None,
                status: str = "open") -> str:
    ticket_id = "T" + uuid.uuid4().hex[:8].upper()
    db.execute("INSERT INTO tickets (id, customer_id, order_id, kind, category, priority, summary, status, remedy, "
               "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
               (ticket_id, ctx.customer_id, order_id, kind, category, priority, summary, status, remedy,
                iso(ctx.now())))
    return ticket_id
