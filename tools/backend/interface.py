"""The commerce backend: every operation the tools need from the shop's system of record.

The tools hold the policy; a backend only reads and writes. Tools call nothing else (no SQL in a
tool), so a shop connects its own order system by implementing these two protocols and running the
conformance suite (docs/CONNECT.md). `tools.backend.sqlite` and `tools.backend.postgres` are the
worked examples.

How the two write guarantees hold on every implementation:

- **Idempotency (one confirmed action, one write).** `run_tool` executes a write inside
  `transaction()`: it asks `executed_result(key)` first and ends with `record_executed(key, ...)` in
  the same transaction. `key` must be unique in the backend (the demo schema: the primary key of
  `executed_actions`). A retry with the same key returns the first result; two concurrent
  transactions with the same key cannot both commit: the second either waits and then sees the
  first's row (SQLite: BEGIN IMMEDIATE; PostgreSQL: the customer lock below), or fails on the unique
  constraint and is retried once by `run_tool`, and then sees it. `run_tool(..., before_commit=)`
  runs a caller's hook inside that same transaction: the agent writes the pending action's outcome
  and its audit row there when its records live in the store's database (one commit for all three).
- **Exactly one of two concurrent cancels (or any two writes racing on one order).**
  `transaction(customer_id)` serialises the writes of one customer (SQLite: BEGIN IMMEDIATE takes
  the database write lock; PostgreSQL: `pg_advisory_xact_lock` on the customer), and the tool
  re-validates its rules inside it, so the second writer sees the first one's result and is denied.
  Independently of that lock, each write below that depends on an order's status is a conditional
  update (`UPDATE ... WHERE id = ? AND status IN (...)`; stock: `WHERE stock >= ?`): when the
  condition no longer holds it raises `ConcurrentChange`, the transaction rolls back, and `run_tool`
  plans once more on the new state (which then gives the denial).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol, runtime_checkable

from tools.backend.records import (
    Customer, HelpArticle, LineChange, NewRefund, NewReturn, Order, OrderSummary, PaymentMethod, Refund,
    Return, ShipAddress, Shipment, Ticket, Variant,
)
from tools.errors import StoreError


class ConcurrentChange(StoreError):
    """A conditional write found the state changed since the tool planned it (another writer won)."""


class ConnectionLost(StoreError):
    """The link to the database broke; nothing of the current transaction was committed, unless the
    break came during COMMIT itself: a retry with the same action key is safe either way."""


@runtime_checkable
class CommerceReads(Protocol):
    """Reads. None or [] when nothing matches; never another customer's data where a customer is given."""

    def customer(self, customer_id: str) -> Customer | None: ...

    def customer_by_email(self, email: str) -> Customer | None:
        """Matched case-insensitively (emails are unique regardless of case)."""

    def customer_order(self, customer_id: str, order_id: str) -> Order | None:
        """The order with its lines (by line id) only if it belongs to this customer."""

    def customer_orders(self, customer_id: str, limit: int) -> list[OrderSummary]:
        """Newest first (by placed_at)."""

    def payment_method(self, payment_method_id: str) -> PaymentMethod | None: ...

    def latest_shipment(self, order_id: str) -> Shipment | None:
        """The order's latest shipment (by shipped_at, then id) with its tracking events, newest first."""

    def product_variants(self, product_id: str) -> list[Variant]:
        """By variant id."""

    def variant(self, variant_id: str) -> Variant | None: ...

    def order_refunds(self, order_id: str) -> list[Refund]: ...

    def order_returns(self, order_id: str) -> list[Return]:
        """Every return of the order with its line ids, oldest first (by created_at, then id)."""

    def order_tickets(self, order_id: str, kind: str) -> list[Ticket]:
        """Tickets of one kind (e.g. lost_package) about the order, oldest first."""

    def open_ticket_like(self, customer_id: str | None, kind: str, summary: str) -> Ticket | None:
        """An open ticket of this customer (None: anonymous) with this kind and summary."""

    def executed_result(self, key: str) -> str | None:
        """The JSON result recorded for an action key, None if it never ran (the agent asks after a
        crash, to tell whether a confirmed write reached the store)."""

    def help_center_version(self) -> str | None:
        """The version (digest) of the loaded help articles, None if none are loaded."""

    def search_help(self, terms: list[str], lang: str, limit: int) -> list[HelpArticle]:
        """Articles in `lang` whose title_terms or body_terms hold any of the index terms (already
        analysed by tools/help_index.py: stemmed or segmented, matched as whole words), best first (a
        title match weighs more than the body)."""


@runtime_checkable
class CommerceTransaction(CommerceReads, Protocol):
    """One atomic unit of work: reads see its own writes; all commit together or none does."""

    def record_executed(self, key: str, tool: str, customer_id: str | None, result: str, at: str) -> None:
        """Record the action key (unique: a second insert of the same key fails)."""

    def cancel_order(self, order_id: str, allowed_statuses: list[str], reason: str, at: str) -> None:
        """Mark cancelled and put the lines' quantities back in stock. Conditional on the status
        still being one of `allowed_statuses`, else ConcurrentChange."""

    def change_ship_address(self, order_id: str, allowed_statuses: list[str], address: ShipAddress,
                            at: str) -> None:
        """Conditional on the status, like cancel_order."""

    def change_order_line(self, change: LineChange, allowed_statuses: list[str]) -> None:
        """Swap the line's variant/quantity, move the stock (the new variant must still have it) and
        add the deltas to the order's subtotal, tax and total. Conditional on status and stock."""

    def adjust_balance(self, payment_method_id: str, delta_cents: int) -> None:
        """Add to (or take from) a gift card's balance."""

    def record_adjustment(self, order_id: str, kind: str, amount_cents: int, payment_method_id: str | None,
                          reason: str, at: str) -> None:
        """A charge or refund of a price difference (kind: charge | refund)."""

    def store_credit_card(self, customer_id: str) -> str:
        """The id of the customer's gift card for store credit, created (balance 0) if they have none."""

    def record_refund(self, refund: NewRefund) -> None: ...

    def create_return(self, new: NewReturn) -> None:
        """The return and its lines; the order's status becomes return_requested."""

    def set_return_status(self, return_id: str, status: str) -> None: ...

    def set_ticket_status(self, ticket_id: str, status: str) -> None: ...

    def set_order_status(self, order_id: str, status: str, at: str) -> None: ...

    def open_ticket(self, ticket: Ticket) -> None: ...

    def create_replacement_order(self, order: Order, at: str) -> str:
        """A new order (fresh id) with the same lines at price 0, same address and payment method,
        status processing; the lines' stock is taken. Returns its id."""

    def update_customer(self, customer_id: str, changes: dict[str, str | None]) -> None:
        """Set account fields: email, phone, address_line1, address_line2, city, state, zip, country."""

    def record_password_reset(self, customer_id: str, sent_to: str, at: str) -> None: ...

    def replace_help_articles(self, articles: list[HelpArticle], version: str) -> None:
        """Replace every help article (and the search index) and record their version."""


@runtime_checkable
class CommerceBackend(CommerceReads, Protocol):
    """A backend: reads outside any transaction, and transactions for writes."""

    def transaction(self, customer_id: str | None = None) -> AbstractContextManager[CommerceTransaction]:
        """An atomic unit of work, serialised with every other transaction of the same customer."""

    def close(self) -> None: ...
