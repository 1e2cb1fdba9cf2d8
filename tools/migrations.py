"""Schema changes as an ordered list of small functions, recorded in a `_migrations` table.

Re-running is a no-op: a migration whose name is recorded is skipped. Append new migrations at the
end; never edit one that has shipped.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


def migrate(db: sqlite_utils.Database, migrations: list[tuple[str, Migration]] | None = None) -> list[str]:
    """Apply pending migrations in order; return the names applied now. Other layers (the agent's
    conversation tables) pass their own list; names must be unique across lists."""
    migrations = MIGRATIONS if migrations is None else migrations
    table = db.table("_migrations")
    if not table.exists():
        table.create({"name": str, "applied_at": str}, pk="name")
    done = {row["name"] for row in table.rows}
    applied = []
    for name, fn in migrations:
        if name in done:
            continue
        with db.conn:
            fn(db)
            table.insert({"name": name, "applied_at": datetime.now(timezone.utc).isoformat()})
        applied.append(name)
    return applied


@migration
def m001_store(db: sqlite_utils.Database) -> None:
    db["customers"].create(
        {
            "id": str, "name": str, "email": str, "phone": str, "zip": str,
            "address_line1": str, "address_line2": str, "city": str, "state": str, "country": str,
            "created_at": str,
        },
        pk="id",
        not_null={"name", "email", "zip"},
    )
    db["customers"].create_index(["email"], unique=True)
    db["payment_methods"].create(
        {
            "id": str, "customer_id": str, "kind": str,  # credit_card | paypal | gift_card | e_wallet
            "brand": str, "last4": str, "account_email": str, "balance_cents": int, "label": str,
        },
        pk="id",
        foreign_keys=[("customer_id", "customers", "id")],
        not_null={"customer_id", "kind"},
    )
    db["payment_methods"].create_index(["customer_id"])
    db["products"].create(
        {"id": str, "name": str, "category": str, "description": str, "final_sale": int},
        pk="id",
        not_null={"name"},
    )
    db["variants"].create(
        {"id": str, "product_id": str, "sku": str, "options": str, "price_cents": int, "stock": int},
        pk="id",
        foreign_keys=[("product_id", "products", "id")],
        not_null={"product_id", "price_cents", "stock"},
    )
    db["variants"].create_index(["product_id"])
    db["orders"].create(
        {
            "id": str, "customer_id": str, "status": str, "payment_method_id": str,
            "ship_name": str, "ship_line1": str, "ship_line2": str, "ship_city": str,
            "ship_state": str, "ship_zip": str, "ship_country": str,
            "subtotal_cents": int, "shipping_cents": int, "tax_cents": int, "total_cents": int,
            "placed_at": str, "shipped_at": str, "delivered_at": str, "cancelled_at": str,
            "cancel_reason": str, "updated_at": str,
        },
        pk="id",
        foreign_keys=[("customer_id", "customers", "id"), ("payment_method_id", "payment_methods", "id")],
        not_null={"customer_id", "status", "total_cents", "placed_at"},
    )
    db["orders"].create_index(["customer_id", "placed_at"])
    db["order_lines"].create(
        {
            "id": int, "order_id": str, "variant_id": str, "product_id": str, "product_name": str,
            "variant_desc": str, "quantity": int, "unit_price_cents": int, "final_sale": int,
        },
        pk="id",
        foreign_keys=[("order_id", "orders", "id"), ("variant_id", "variants", "id")],
        not_null={"order_id", "quantity", "unit_price_cents"},
    )
    db["order_lines"].create_index(["order_id"])
    db["shipments"].create(
        {
            "id": str, "order_id": str, "carrier": str, "tracking_number": str, "service_level": str,
            "shipped_at": str, "estimated_delivery": str, "delivered_at": str,
        },
        pk="id",
        foreign_keys=[("order_id", "orders", "id")],
    )
    db["shipments"].create_index(["order_id"])
    db["tracking_events"].create(
        {"id": int, "shipment_id": str, "at": str, "location": str, "description": str},
        pk="id",
        foreign_keys=[("shipment_id", "shipments", "id")],
    )
    db["tracking_events"].create_index(["shipment_id", "at"])
    db["returns"].create(
        {
            "id": str, "order_id": str, "customer_id": str, "reason": str, "condition": str,
            "status": str, "label_url": str, "refund_cents": int, "restocking_fee_cents": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("order_id", "orders", "id"), ("customer_id", "customers", "id")],
    )
    db["returns"].create_index(["order_id"])
    db["return_lines"].create(
        {"id": int, "return_id": str, "order_line_id": int, "quantity": int},
        pk="id",
        foreign_keys=[("return_id", "returns", "id"), ("order_line_id", "order_lines", "id")],
    )
    db["return_lines"].create_index(["return_id"])
    db["refunds"].create(
        {
            "id": str, "order_id": str, "customer_id": str, "return_id": str, "amount_cents": int,
            "method": str, "payment_method_id": str, "status": str, "reason": str,
            "expected_by": str, "created_at": str,
        },
        pk="id",
        foreign_keys=[("order_id", "orders", "id"), ("customer_id", "customers", "id")],
    )
    db["refunds"].create_index(["order_id"])
    db["order_adjustments"].create(
        {
            "id": int, "order_id": str, "kind": str, "amount_cents": int, "payment_method_id": str,
            "reason": str, "created_at": str,
        },
        pk="id",
        foreign_keys=[("order_id", "orders", "id")],
    )
    db["order_adjustments"].create_index(["order_id"])
    db["tickets"].create(
        {
            "id": str, "customer_id": str, "order_id": str, "kind": str, "category": str,
            "priority": str, "summary": str, "status": str, "remedy": str, "created_at": str,
        },
        pk="id",
    )
    db["tickets"].create_index(["customer_id"])
    db["password_resets"].create(
        {"id": int, "customer_id": str, "sent_to": str, "created_at": str}, pk="id"
    )
    # One row per executed write action: makes execute idempotent (same key -> same result, one write).
    db["executed_actions"].create(
        {"key": str, "tool": str, "customer_id": str, "result": str, "executed_at": str}, pk="key"
    )
    db["store_meta"].create({"key": str, "value": str}, pk="key")


@migration
def m002_help_center(db: sqlite_utils.Database) -> None:
    db["help_articles"].create(
        {"id": str, "title": str, "section": str, "body": str, "source": str}, pk="id"
    )
    db["help_articles"].enable_fts(["title", "body"], create_triggers=True, tokenize="porter")


@migration
def m003_tool_lookup_indexes(db: sqlite_utils.Database) -> None:
    # Lookups the tools make that m001 left unindexed: email matched case-insensitively (verification,
    # password reset, the email-in-use check), lost-package claims and complaints by order, returns'
    # lines by order line, refunds by return.
    db.execute("CREATE INDEX IF NOT EXISTS idx_customers_email_lower ON customers (lower(email))")
    db["tickets"].create_index(["order_id", "kind"], if_not_exists=True)
    db["return_lines"].create_index(["order_line_id"], if_not_exists=True)
    db["refunds"].create_index(["return_id"], if_not_exists=True)


@migration
def m004_help_center_languages(db: sqlite_utils.Database) -> None:
    # The help index in every language the help center is written in: a row per article and language,
    # searched by its analysed terms (tools/help_index.py: jieba words, Snowball stems) joined by spaces,
    # so the index tokenizer only splits them. The rows are derived from the documents: reloaded on use.
    db["help_articles"].disable_fts()
    db["help_articles"].drop()
    db["help_articles"].create(
        {"id": str, "lang": str, "title": str, "section": str, "body": str, "source": str,
         "title_terms": str, "body_terms": str},
        pk=("id", "lang"),
    )
    db["help_articles"].enable_fts(["title_terms", "body_terms"], create_triggers=True, tokenize="unicode61")
    db.execute("DELETE FROM store_meta WHERE key = 'help_center_version'")
