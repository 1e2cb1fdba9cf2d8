"""Shared test fixtures: a tiny, explicit store built in each test, relative to a FIXED `now`.

No LLM anywhere. The pieces, smallest first:

- `now`: the fixed reference time (a Wednesday, 11:00 in the store's time zone, inside support hours).
- `store`: an empty, migrated store: a `Store` in a fresh SQLite file under `tmp_path`, or, where the
  test is parametrized by backend, a `PostgresBackend` on a fresh database of a throwaway PostgreSQL
  server that pytest starts itself (pytest-postgresql). Both answer `one` / `all` / `write` /
  `content_hash` on the demo schema, so a test reads the same on either.
- `backend_name` / `store_url`: which backend, and its URL. Every test in a module named
  `test_tools_*` or `test_store*` that uses the store runs on both backends (the conformance suite);
  `@pytest.mark.sqlite_only` keeps a test about the SQLite file itself to SQLite.
- `policy`: the shipped policy document, parsed.
- `builder`: a `ShopBuilder` on that store; add exactly the rows a test needs with `customer()`,
  `payment_method()`, `product()`, `order()`, `shipment()`. Times are given as "days ago" / "days
  ahead" of `now`; amounts in integer cents; order totals are computed from the lines.
- `shop`: the builder after `build_story_shop()`: the five story customers and their orders, with the
  amounts listed in that function (e.g. W1002 = one pair of headphones at 199.99, no tax, no shipping).
- `ctx_for(customer_id=None, policy=None, now=None)`: a `ToolContext` on the store, optionally verified
  as that customer, with the fixed clock.
- `call(ctx, name, args, execute=False)`: `run_tool` in one line.

Other test files reuse these; keep them general and keep the story shop's numbers stable.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import pytest

from pg_harness import BACKENDS, pg_database, pg_server, postgres_server  # noqa: F401  (fixtures)
from tools.backend import open_backend
from tools.context import ToolContext
from tools.policy import Policy, load_policy
from tools.registry import run_tool
from tools.results import ToolResult
from tools.store import Store
from tools.values import iso

# Wednesday 2026-03-11 18:00 UTC = 11:00 in America/Los_Angeles (PDT): inside support hours.
FIXED_NOW = datetime(2026, 3, 11, 18, 0, tzinfo=timezone.utc)


class ShopBuilder:
    """Adds rows to a store with the fields a test cares about and sensible defaults for the rest."""

    def __init__(self, store: Store, now: datetime):
        self.store = store
        self.now = now
        self._line_ids: dict[str, list[int]] = {}

    # -- time helpers ---------------------------------------------------------------------------
    def ago(self, days: float = 0, hours: float = 0) -> str:
        return iso(self.now - timedelta(days=days, hours=hours))

    def ahead(self, days: float = 0, hours: float = 0) -> str:
        return iso(self.now + timedelta(days=days, hours=hours))

    # -- rows -----------------------------------------------------------------------------------
    def _insert(self, table: str, row: dict[str, Any]) -> None:
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self.store.write() as db:
            db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(row.values()))

    def customer(self, id: str, name: str, email: str, zip: str, *, phone: str = "+14155550100",
                 address_line1: str = "1 Main St", city: str = "Springfield", state: str = "CA",
                 country: str = "US") -> str:
        self._insert("customers", {"id": id, "name": name, "email": email, "zip": zip, "phone": phone,
                                   "address_line1": address_line1, "address_line2": None, "city": city,
                                   "state": state, "country": country, "created_at": self.ago(days=400)})
        return id

    def payment_method(self, id: str, customer_id: str, kind: str, *, brand: str | None = None,
                       last4: str | None = None, account_email: str | None = None,
                       balance_cents: int | None = None) -> str:
        """kind: credit_card (brand, last4) | paypal (account_email) | gift_card (balance_cents) | e_wallet."""
        self._insert("payment_methods", {"id": id, "customer_id": customer_id, "kind": kind, "brand": brand,
                                         "last4": last4, "account_email": account_email,
                                         "balance_cents": balance_cents, "label": kind})
        return id

    def product(self, id: str, name: str, variants: list[tuple[str, str, int, int]], *,
                final_sale: bool = False, category: str = "apparel") -> str:
        """variants: (variant_id, options as JSON or "Black / M", price_cents, stock)."""
        self._insert("products", {"id": id, "name": name, "category": category, "description": name,
                                  "final_sale": int(final_sale)})
        for vid, options, price, stock in variants:
            if not options.startswith("{"):
                options = json.dumps(dict(zip(["color", "size"], [p.strip() for p in options.split("/")])))
            self._insert("variants", {"id": vid, "product_id": id, "sku": vid, "options": options,
                                      "price_cents": price, "stock": stock})
        return id

    def order(self, id: str, customer_id: str, status: str, lines: list[tuple[str, int]], *,
              payment_method_id: str, placed_days_ago: float = 1, shipped_days_ago: float | None = None,
              delivered_days_ago: float | None = None, shipping_cents: int = 0, tax_cents: int = 0) -> str:
        """lines: (variant_id, quantity); unit price and final-sale come from the variant/product.
        subtotal = sum of lines; total = subtotal + shipping + tax."""
        customer = self.store.one("SELECT * FROM customers WHERE id = ?", (customer_id,))
        rows = []
        for vid, qty in lines:
            v = self.store.one("SELECT v.*, p.name AS pname, p.final_sale FROM variants v JOIN products p "
                               "ON p.id = v.product_id WHERE v.id = ?", (vid,))
            desc = " / ".join(json.loads(v["options"]).values())
            rows.append({"order_id": id, "variant_id": vid, "product_id": v["product_id"],
                         "product_name": v["pname"], "variant_desc": desc, "quantity": qty,
                         "unit_price_cents": v["price_cents"], "final_sale": v["final_sale"]})
        subtotal = sum(r["unit_price_cents"] * r["quantity"] for r in rows)
        self._insert("orders", {
            "id": id, "customer_id": customer_id, "status": status, "payment_method_id": payment_method_id,
            "ship_name": customer["name"], "ship_line1": customer["address_line1"], "ship_line2": None,
            "ship_city": customer["city"], "ship_state": customer["state"], "ship_zip": customer["zip"],
            "ship_country": customer["country"], "subtotal_cents": subtotal, "shipping_cents": shipping_cents,
            "tax_cents": tax_cents, "total_cents": subtotal + shipping_cents + tax_cents,
            "placed_at": self.ago(days=placed_days_ago),
            "shipped_at": self.ago(days=shipped_days_ago) if shipped_days_ago is not None else None,
            "delivered_at": self.ago(days=delivered_days_ago) if delivered_days_ago is not None else None,
            "cancelled_at": self.ago(days=placed_days_ago) if status == "cancelled" else None,
            "cancel_reason": "changed my mind" if status == "cancelled" else None,
            "updated_at": self.ago(days=placed_days_ago)})
        for r in rows:
            self._insert("order_lines", r)
        self._line_ids[id] = [r["id"] for r in self.store.all(
            "SELECT id FROM order_lines WHERE order_id = ? ORDER BY id", (id,))]
        return id

    def line_ids(self, order_id: str) -> list[int]:
        return self._line_ids[order_id]

    def shipment(self, order_id: str, *, shipped_days_ago: float, estimated_delivery: str,
                 events: list[tuple[float, str, str]] = (), delivered_days_ago: float | None = None,
                 carrier: str = "UPS", service_level: str = "ground", tracking_number: str | None = None) -> str:
        """estimated_delivery: an ISO date or time (use `ago`/`ahead`); events: (days_ago, location,
        description)."""
        sid = f"S-{order_id}"
        self._insert("shipments", {"id": sid, "order_id": order_id, "carrier": carrier,
                                   "tracking_number": tracking_number or f"1Z{order_id}",
                                   "service_level": service_level, "shipped_at": self.ago(days=shipped_days_ago),
                                   "estimated_delivery": estimated_delivery,
                                   "delivered_at": self.ago(days=delivered_days_ago)
                                   if delivered_days_ago is not None else None})
        for days, location, description in events:
            self._insert("tracking_events", {"shipment_id": sid, "at": self.ago(days=days), "location": location,
                                             "description": description})
        return sid

    # -- the story shop -------------------------------------------------------------------------
    def build_story_shop(self) -> "ShopBuilder":
        """The README's story customers in miniature. Amounts (cents):
        W1001 Jane pending 2 h ago, visa: 2 x Trail Tee Black/M 25.00 + 1 x Wool Socks 12.00,
              shipping 5.99, tax 4.96 -> total 72.95
        W1002 Jane delivered 10 days ago: 1 x Wireless Headphones 199.99, no shipping, no tax
        W1003 Jane shipped 2 days ago, in transit (2 events), estimated delivery in 2 days: Storm Jacket
              M 120.00 + shipping 5.99 = 125.99
        W1004 Jane delivered 45 days ago: 2 x Wool Socks 12.00 + 5.99 shipping = 29.99
        W2001 Omar shipped 14 days ago, gift card, estimate passed 7 days ago, last scan 9 days ago:
              Trail Tee Black/L 25.00 + 5.99 = 30.99; gift card balance 25.00
        W2002 Omar pending, gift card: 1 x Trail Tee Black/M 25.00
        W3001 Mei delivered 3 days ago, mastercard: Silk Scarf (final sale) 45.00 + Trail Tee Black/M
              25.00 + shipping 5.99 = 75.99
        W3002 Mei processing: 3 x Wool Socks = 36.00
        W4001 Lucas delivered 20 days ago, amex: 2 x Summit Boots 390.00 = 780.00
        W5001 Priya cancelled; W5002 Priya pending, PayPal: Storm Jacket M 120.00 + 5.99 = 125.99
        """
        self.customer("C-JANE", "Jane Doe", "jane.doe@example.com", "94107", city="San Francisco")
        self.customer("C-OMAR", "Omar Haddad", "omar.haddad@example.com", "10001", city="New York", state="NY")
        self.customer("C-MEI", "Mei Chen", "mei.chen@example.com", "60614", city="Chicago", state="IL")
        self.customer("C-LUCAS", "Lucas Silva", "lucas.silva@example.com", "73301", city="Austin", state="TX")
        self.customer("C-PRIYA", "Priya Patel", "priya.patel@example.com", "02139", city="Cambridge", state="MA")
        self.payment_method("PM-JANE-CC", "C-JANE", "credit_card", brand="Visa", last4="4242")
        self.payment_method("PM-OMAR-GC", "C-OMAR", "gift_card", balance_cents=2500)
        self.payment_method("PM-MEI-CC", "C-MEI", "credit_card", brand="Mastercard", last4="5555")
        self.payment_method("PM-LUCAS-CC", "C-LUCAS", "credit_card", brand="Amex", last4="0005")
        self.payment_method("PM-PRIYA-PP", "C-PRIYA", "paypal", account_email="priya.patel@example.com")
        self.product("P-TEE", "Trail Tee", [("V-TEE-BLK-M", "Black / M", 2500, 10),
                                            ("V-TEE-BLK-L", "Black / L", 2500, 5),
                                            ("V-TEE-WHT-M", "White / M", 2500, 0),
                                            ("V-TEE-BLK-XL", "Black / XL", 2800, 3)])
        self.product("P-HEAD", "Wireless Headphones", [("V-HEAD", "Black / One size", 19999, 20)],
                     category="electronics")
        self.product("P-JACKET", "Storm Jacket", [("V-JKT-M", "Navy / M", 12000, 4), ("V-JKT-L", "Navy / L", 12000, 0)])
        self.product("P-SCARF", "Silk Scarf", [("V-SCARF", "Red / One size", 4500, 5)], final_sale=True)
        self.product("P-BOOTS", "Summit Boots", [("V-BOOTS-10", "Brown / 10", 39000, 2)], category="footwear")
        self.product("P-SOCKS", "Wool Socks", [("V-SOCKS", "Grey / One size", 1200, 50)])

        self.order("W1001", "C-JANE", "pending", [("V-TEE-BLK-M", 2), ("V-SOCKS", 1)],
                   payment_method_id="PM-JANE-CC", placed_days_ago=2 / 24, shipping_cents=599, tax_cents=496)
        self.order("W1002", "C-JANE", "delivered", [("V-HEAD", 1)], payment_method_id="PM-JANE-CC",
                   placed_days_ago=14, shipped_days_ago=13, delivered_days_ago=10)
        self.shipment("W1002", shipped_days_ago=13, estimated_delivery=self.ago(days=10)[:10], delivered_days_ago=10,
                      events=[(13, "Oakland, CA", "Picked up"), (10, "San Francisco, CA", "Delivered")])
        self.order("W1003", "C-JANE", "shipped", [("V-JKT-M", 1)], payment_method_id="PM-JANE-CC",
                   placed_days_ago=3, shipped_days_ago=2, shipping_cents=599)
        self.shipment("W1003", shipped_days_ago=2, estimated_delivery=self.ahead(days=2)[:10],
                      events=[(2, "Reno, NV", "Picked up"), (1, "Sacramento, CA", "In transit")])
        self.order("W1004", "C-JANE", "delivered", [("V-SOCKS", 2)], payment_method_id="PM-JANE-CC",
                   placed_days_ago=50, shipped_days_ago=48, delivered_days_ago=45, shipping_cents=599)
        self.order("W2001", "C-OMAR", "shipped", [("V-TEE-BLK-L", 1)], payment_method_id="PM-OMAR-GC",
                   placed_days_ago=15, shipped_days_ago=14, shipping_cents=599)
        self.shipment("W2001", shipped_days_ago=14, estimated_delivery=self.ago(days=7)[:10],
                      events=[(14, "Newark, NJ", "Picked up"), (9, "Secaucus, NJ", "Arrived at facility")])
        self.order("W2002", "C-OMAR", "pending", [("V-TEE-BLK-M", 1)], payment_method_id="PM-OMAR-GC",
                   placed_days_ago=0.5)
        self.order("W3001", "C-MEI", "delivered", [("V-SCARF", 1), ("V-TEE-BLK-M", 1)],
                   payment_method_id="PM-MEI-CC", placed_days_ago=7, shipped_days_ago=6, delivered_days_ago=3,
                   shipping_cents=599)
        self.order("W3002", "C-MEI", "processing", [("V-SOCKS", 3)], payment_method_id="PM-MEI-CC",
                   placed_days_ago=1)
        self.order("W4001", "C-LUCAS", "delivered", [("V-BOOTS-10", 2)], payment_method_id="PM-LUCAS-CC",
                   placed_days_ago=25, shipped_days_ago=23, delivered_days_ago=20)
        self.order("W5001", "C-PRIYA", "cancelled", [("V-SOCKS", 1)], payment_method_id="PM-PRIYA-PP",
                   placed_days_ago=30)
        self.order("W5002", "C-PRIYA", "pending", [("V-JKT-M", 1)], payment_method_id="PM-PRIYA-PP",
                   placed_days_ago=1, shipping_cents=599)
        return self


# -- fixtures ------------------------------------------------------------------------------------

CONFORMANCE_MODULES = ("test_tools_", "test_store")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rpartition(".")[2]
    if ("backend_name" in metafunc.fixturenames and module.startswith(CONFORMANCE_MODULES)
            and metafunc.definition.get_closest_marker("sqlite_only") is None):
        metafunc.parametrize("backend_name", BACKENDS)


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"


@pytest.fixture
def backend_name() -> str:
    return "sqlite"  # parametrized over BACKENDS in the conformance modules (pytest_generate_tests)


@pytest.fixture
def store_url(request: pytest.FixtureRequest, backend_name: str, db_path: Path) -> str:
    if backend_name == "sqlite":
        return str(db_path)
    info = request.getfixturevalue("pg_database").info
    return f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname}"


@pytest.fixture
def store(backend_name: str, store_url: str):
    s = Store(store_url) if backend_name == "sqlite" else open_backend(store_url)
    yield s
    s.close()


@pytest.fixture
def builder(store: Store, now: datetime) -> ShopBuilder:
    return ShopBuilder(store, now)


@pytest.fixture
def shop(builder: ShopBuilder) -> ShopBuilder:
    return builder.build_story_shop()


@pytest.fixture
def ctx_for(store: Store, policy: Policy, now: datetime) -> Callable[..., ToolContext]:
    def make(customer_id: str | None = None, *, policy: Policy = policy, now: datetime = now,
             store: Store = store) -> ToolContext:
        return ToolContext(store=store, policy=policy, customer_id=customer_id, clock=lambda: now)

    return make


def call(ctx: ToolContext, name: str, args: dict[str, Any] | None = None, *, execute: bool = False,
         key: str | None = None) -> ToolResult:
    return run_tool(ctx, name, args or {}, execute=execute, key=key)


@pytest.fixture(name="call")
def call_fixture() -> Callable[..., ToolResult]:
    return call
