"""The commerce backend over the demo schema, in SQL that SQLite and PostgreSQL both run. The two
implementations differ only in how a statement reaches the database (`Sql`) and in full-text search.

Placeholders are `?`; the PostgreSQL side turns them into psycopg's `%s`."""

from __future__ import annotations

from typing import Any, Protocol

from tools.backend.interface import ConcurrentChange
from tools.backend.records import (
    Customer, HelpArticle, LineChange, NewRefund, NewReturn, Order, OrderLine, OrderSummary, PaymentMethod, Refund, Return,
    ShipAddress, Shipment, Ticket, TrackingEvent, Variant,
)

ACCOUNT_FIELDS = ("email", "phone", "address_line1", "address_line2", "city", "state", "zip", "country")


class Sql(Protocol):
    """How a statement reaches the database: rows as dicts; `execute` returns the affected row count."""

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None: ...

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]: ...

    def execute(self, sql: str, params: tuple = ()) -> int: ...

    def executemany(self, sql: str, rows: list[tuple]) -> None: ...


def _marks(values: list | tuple) -> str:
    return ",".join("?" * len(values))


class SqlReads:
    def __init__(self, sql: Sql):
        self.sql = sql

    def customer(self, customer_id: str) -> Customer | None:
        row = self.sql.one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        return Customer(**row) if row else None

    def customer_by_email(self, email: str) -> Customer | None:
        row = self.sql.one("SELECT * FROM customers WHERE lower(email) = ?", (email.strip().lower(),))
        return Customer(**row) if row else None

    def customer_order(self, customer_id: str, order_id: str) -> Order | None:
        row = self.sql.one("SELECT * FROM orders WHERE id = ? AND customer_id = ?", (order_id, customer_id))
        if row is None:
            return None
        lines = self.sql.all("SELECT * FROM order_lines WHERE order_id = ? ORDER BY id", (order_id,))
        return Order(**row, lines=tuple(OrderLine(**line) for line in lines))

    def customer_orders(self, customer_id: str, limit: int) -> list[OrderSummary]:
        rows = self.sql.all("SELECT id, status, placed_at, total_cents FROM orders WHERE customer_id = ? "
                            "ORDER BY placed_at DESC LIMIT ?", (customer_id, limit))
        return [OrderSummary(**r) for r in rows]

    def payment_method(self, payment_method_id: str) -> PaymentMethod | None:
        row = self.sql.one("SELECT * FROM payment_methods WHERE id = ?", (payment_method_id,))
        return PaymentMethod(**row) if row else None

    def latest_shipment(self, order_id: str) -> Shipment | None:
        row = self.sql.one("SELECT * FROM shipments WHERE order_id = ? ORDER BY shipped_at DESC, id DESC LIMIT 1",
                           (order_id,))
        if row is None:
            return None
        events = self.sql.all("SELECT at, location, description FROM tracking_events WHERE shipment_id = ? "
                              "ORDER BY at DESC, id DESC", (row["id"],))
        return Shipment(**row, events=tuple(TrackingEvent(**e) for e in events))

    def product_variants(self, product_id: str) -> list[Variant]:
        return [Variant(**r) for r in self.sql.all("SELECT * FROM variants WHERE product_id = ? ORDER BY id",
                                                   (product_id,))]

    def variant(self, variant_id: str) -> Variant | None:
        row = self.sql.one("SELECT * FROM variants WHERE id = ?", (variant_id,))
        return Variant(**row) if row else None

    def order_refunds(self, order_id: str) -> list[Refund]:
        rows = self.sql.all("SELECT id, order_id, amount_cents, return_id FROM refunds WHERE order_id = ? "
                            "ORDER BY created_at, id", (order_id,))
        return [Refund(**r) for r in rows]

    def order_returns(self, order_id: str) -> list[Return]:
        rows = self.sql.all("SELECT id, order_id, status, condition, refund_cents, created_at FROM returns "
                            "WHERE order_id = ? ORDER BY created_at, id", (order_id,))
        lines = self.sql.all("SELECT rl.return_id, rl.order_line_id FROM return_lines rl JOIN returns r ON "
                             "r.id = rl.return_id WHERE r.order_id = ? ORDER BY rl.id", (order_id,))
        return [Return(**r, line_ids=tuple(l["order_line_id"] for l in lines if l["return_id"] == r["id"]))
                for r in rows]

    def order_tickets(self, order_id: str, kind: str) -> list[Ticket]:
        rows = self.sql.all("SELECT * FROM tickets WHERE order_id = ? AND kind = ? ORDER BY created_at, id",
                            (order_id, kind))
        return [Ticket(**r) for r in rows]

    def open_ticket_like(self, customer_id: str | None, kind: str, summary: str) -> Ticket | None:
        row = self.sql.one("SELECT * FROM tickets WHERE kind = ? AND status = 'open' AND customer_id IS NOT "
                           "DISTINCT FROM ? AND summary = ? ORDER BY created_at, id LIMIT 1",
                           (kind, customer_id, summary))
        return Ticket(**row) if row else None

    def executed_result(self, key: str) -> str | None:
        row = self.sql.one("SELECT result FROM executed_actions WHERE key = ?", (key,))
        return row["result"] if row else None

    def help_center_version(self) -> str | None:
        row = self.sql.one("SELECT value FROM store_meta WHERE key = 'help_center_version'")
        return row["value"] if row else None


class DemoSchemaAccess:
    """Raw SQL on the demo schema, for fixtures, tests and evals; not part of the commerce interface."""

    sql: Sql

    def one(self, sql: str, params: tuple = ()) -> dict[str, Any] | None:
        return self.sql.one(sql, params)

    def all(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return self.sql.all(sql, params)


class SqlWrites(SqlReads):
    """The writes, on one transaction's connection."""

    def record_executed(self, key: str, tool: str, customer_id: str | None, result: str, at: str) -> None:
        self.sql.execute("INSERT INTO executed_actions (key, tool, customer_id, result, executed_at) "
                         "VALUES (?,?,?,?,?)", (key, tool, customer_id, result, at))

    def _conditional(self, sql: str, params: tuple, what: str) -> None:
        if self.sql.execute(sql, params) != 1:
            raise ConcurrentChange(f"{what} changed meanwhile")

    def cancel_order(self, order_id: str, allowed_statuses: list[str], reason: str, at: str) -> None:
        self._conditional(f"UPDATE orders SET status = 'cancelled', cancelled_at = ?, cancel_reason = ?, "
                          f"updated_at = ? WHERE id = ? AND status IN ({_marks(allowed_statuses)})",
                          (at, reason, at, order_id, *allowed_statuses), f"order {order_id}")
        self.sql.execute("UPDATE variants SET stock = stock + (SELECT coalesce(sum(l.quantity), 0) FROM "
                         "order_lines l WHERE l.order_id = ? AND l.variant_id = variants.id) WHERE id IN "
                         "(SELECT variant_id FROM order_lines WHERE order_id = ?)", (order_id, order_id))

    def change_ship_address(self, order_id: str, allowed_statuses: list[str], address: ShipAddress,
                            at: str) -> None:
        fields = address.model_dump()
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._conditional(f"UPDATE orders SET {sets}, updated_at = ? WHERE id = ? AND status IN "
                          f"({_marks(allowed_statuses)})", (*fields.values(), at, order_id, *allowed_statuses),
                          f"order {order_id}")

    def change_order_line(self, change: LineChange, allowed_statuses: list[str]) -> None:
        c = change
        total = c.subtotal_delta + c.tax_delta
        self._conditional(f"UPDATE orders SET subtotal_cents = subtotal_cents + ?, tax_cents = tax_cents + ?, "
                          f"total_cents = total_cents + ?, updated_at = ? WHERE id = ? AND status IN "
                          f"({_marks(allowed_statuses)})",
                          (c.subtotal_delta, c.tax_delta, total, c.at, c.order_id, *allowed_statuses),
                          f"order {c.order_id}")
        if c.old_variant_id:
            self.sql.execute("UPDATE variants SET stock = stock + ? WHERE id = ?", (c.old_quantity, c.old_variant_id))
        self._conditional("UPDATE variants SET stock = stock - ? WHERE id = ? AND stock >= ?",
                          (c.quantity, c.variant_id, c.quantity), f"stock of {c.variant_id}")
        self._conditional("UPDATE order_lines SET variant_id = ?, variant_desc = ?, quantity = ?, "
                          "unit_price_cents = ? WHERE id = ? AND order_id = ?",
                          (c.variant_id, c.variant_desc, c.quantity, c.unit_price_cents, c.line_id, c.order_id),
                          f"line {c.line_id}")

    def adjust_balance(self, payment_method_id: str, delta_cents: int) -> None:
        self.sql.execute("UPDATE payment_methods SET balance_cents = coalesce(balance_cents, 0) + ? WHERE id = ?",
                         (delta_cents, payment_method_id))

    def record_adjustment(self, order_id: str, kind: str, amount_cents: int, payment_method_id: str | None,
                          reason: str, at: str) -> None:
        self.sql.execute("INSERT INTO order_adjustments (order_id, kind, amount_cents, payment_method_id, reason, "
                         "created_at) VALUES (?,?,?,?,?,?)", (order_id, kind, amount_cents, payment_method_id,
                                                              reason, at))

    def store_credit_card(self, customer_id: str) -> str:
        row = self.sql.one("SELECT id FROM payment_methods WHERE customer_id = ? AND kind = 'gift_card' "
                           "ORDER BY id LIMIT 1", (customer_id,))
        if row is not None:
            return row["id"]
        pm_id = "GC-" + customer_id
        self.sql.execute("INSERT INTO payment_methods (id, customer_id, kind, balance_cents, label) "
                         "VALUES (?, ?, 'gift_card', 0, 'Store credit')", (pm_id, customer_id))
        return pm_id

    def record_refund(self, refund: NewRefund) -> None:
        self._insert("refunds", refund.model_dump())

    def create_return(self, new: NewReturn) -> None:
        self._insert("returns", new.model_dump(exclude={"lines"}))
        self.sql.executemany("INSERT INTO return_lines (return_id, order_line_id, quantity) VALUES (?,?,?)",
                             [(new.id, line_id, quantity) for line_id, quantity in new.lines])
        self.set_order_status(new.order_id, "return_requested", new.created_at)

    def set_return_status(self, return_id: str, status: str) -> None:
        self.sql.execute("UPDATE returns SET status = ? WHERE id = ?", (status, return_id))

    def set_ticket_status(self, ticket_id: str, status: str) -> None:
        self.sql.execute("UPDATE tickets SET status = ? WHERE id = ?", (status, ticket_id))

    def set_order_status(self, order_id: str, status: str, at: str) -> None:
        self.sql.execute("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?", (status, at, order_id))

    def open_ticket(self, ticket: Ticket) -> None:
        self._insert("tickets", ticket.model_dump())

    def create_replacement_order(self, order: Order, at: str) -> str:
        new_id = self._next_order_id()
        copied = ("customer_id", "payment_method_id", "ship_name", "ship_line1", "ship_line2", "ship_city",
                  "ship_state", "ship_zip", "ship_country")
        self._insert("orders", {"id": new_id, "status": "processing", **{k: getattr(order, k) for k in copied},
                                "subtotal_cents": 0, "shipping_cents": 0, "tax_cents": 0, "total_cents": 0,
                                "placed_at": at, "updated_at": at})
        for line in order.lines:
            self._insert("order_lines", {**line.model_dump(exclude={"id"}), "order_id": new_id,
                                         "unit_price_cents": 0, "final_sale": int(line.final_sale)})
            if line.variant_id:
                self.sql.execute("UPDATE variants SET stock = stock - ? WHERE id = ?", (line.quantity, line.variant_id))
        return new_id

    def _next_order_id(self) -> str:
        """A fresh order id (W + number). The next number is kept in store_meta so the max over all
        orders is computed once per store, not on every replacement."""
        row = self.sql.one("SELECT value FROM store_meta WHERE key = 'next_order_number'")
        if row is not None:
            number = int(row["value"])
        else:
            number = self.sql.one("SELECT coalesce(max(CAST(substr(id, 2) AS INTEGER)), 1000) AS n FROM orders "
                                  "WHERE id LIKE 'W%'")["n"] + 1
        while self.sql.one("SELECT 1 AS x FROM orders WHERE id = ?", (f"W{number}",)) is not None:
            number += 1
        self._set_meta("next_order_number", str(number + 1))
        return f"W{number}"

    def replace_help_articles(self, articles: list[HelpArticle], version: str) -> None:
        self.sql.execute("DELETE FROM help_articles")
        columns = list(HelpArticle.model_fields)
        self.sql.executemany(f"INSERT INTO help_articles ({', '.join(columns)}) VALUES ({_marks(columns)})",
                             [tuple(getattr(a, c) for c in columns) for a in articles])
        self._set_meta("help_center_version", version)

    def _set_meta(self, key: str, value: str) -> None:
        self.sql.execute("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                         "value = excluded.value", (key, value))

    def update_customer(self, customer_id: str, changes: dict[str, str | None]) -> None:
        unknown = set(changes) - set(ACCOUNT_FIELDS)
        if unknown:
            raise ValueError(f"not an account field: {sorted(unknown)}")
        sets = ", ".join(f"{k} = ?" for k in changes)
        self.sql.execute(f"UPDATE customers SET {sets} WHERE id = ?", (*changes.values(), customer_id))

    def record_password_reset(self, customer_id: str, sent_to: str, at: str) -> None:
        self.sql.execute("INSERT INTO password_resets (customer_id, sent_to, created_at) VALUES (?,?,?)",
                         (customer_id, sent_to, at))

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        self.sql.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({_marks(list(row))})",
                         tuple(row.values()))
