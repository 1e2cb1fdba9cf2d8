"""The demo store: deterministic, the story customers exactly as documented, every status and
policy edge present, money and lifecycle consistent; and `support-agent init`."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import get_args

import pytest

import agent.cli as cli
from fixtures import STORY_CUSTOMERS, build_demo_store, read_meta, store_reference_now
from tools.context import ToolContext
from tools.migrations import migrate
from tools.policy import OrderStatus, load_policy
from tools.registry import run_tool
from tools.store import Store
from tools.values import iso, parse_time

NOW = datetime(2025, 3, 14, 15, 9, 26, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Store:
    return build_demo_store(tmp_path_factory.mktemp("demo") / "demo.db", now=NOW)


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def ago(**kw) -> str:
    return iso(NOW - timedelta(**kw))


def order(store: Store, order_id: str) -> dict:
    row = store.one("SELECT * FROM orders WHERE id = ?", (order_id,))
    assert row is not None, order_id
    row["lines"] = store.all("SELECT * FROM order_lines WHERE order_id = ? ORDER BY id", (order_id,))
    row["pm"] = store.one("SELECT * FROM payment_methods WHERE id = ?", (row["payment_method_id"],))
    row["shipment"] = store.one("SELECT * FROM shipments WHERE order_id = ?", (order_id,))
    row["events"] = store.all(
        "SELECT e.* FROM tracking_events e JOIN shipments s ON s.id = e.shipment_id WHERE s.order_id = ? "
        "ORDER BY e.id", (order_id,))
    return row


def siblings_in_stock(store: Store, variant_id: str) -> list[dict]:
    return store.all("SELECT s.* FROM variants v JOIN variants s ON s.product_id = v.product_id AND s.id != v.id "
                     "WHERE v.id = ? AND s.stock > 0", (variant_id,))


# -- determinism -------------------------------------------------------------------------------

def test_same_seed_and_now_give_the_same_content_and_another_seed_differs(tmp_path, demo):
    again = build_demo_store(tmp_path / "again.db", now=NOW)
    other = build_demo_store(tmp_path / "other.db", now=NOW, seed=8)
    assert again.content_hash() == demo.content_hash()
    assert other.content_hash() != demo.content_hash()
    # the story does not depend on the seed
    story = "SELECT * FROM orders WHERE length(id) = 5 ORDER BY id"  # W1001..W5002
    assert other.all(story) == demo.all(story)


def test_dates_follow_the_reference_time(tmp_path, demo):
    later = build_demo_store(tmp_path / "later.db", now=NOW + timedelta(days=3))
    a, b = order(demo, "W1002"), order(later, "W1002")
    assert parse_time(b["delivered_at"]) - parse_time(a["delivered_at"]) == timedelta(days=3)


def test_meta_records_reference_time_seed_and_sizes(demo):
    meta = read_meta(demo)
    assert meta["now"] == iso(NOW) and meta["seed"] == "7"
    assert store_reference_now(demo) == NOW
    for table in ("customers", "products", "variants", "orders"):
        assert int(meta[table]) == demo.db[table].count
    assert demo.db["customers"].count == 50
    assert demo.db["products"].count == 40
    assert 280 <= demo.db["orders"].count <= 320


def test_migrations_rerun_on_the_demo_store_are_a_noop(demo):
    assert migrate(demo.db) == []
    reopened = Store(demo.path)
    assert migrate(reopened.db) == []
    assert reopened.content_hash() == demo.content_hash()
    reopened.close()


def test_naive_now_is_utc_and_microseconds_are_dropped(tmp_path, demo):
    store = build_demo_store(tmp_path / "naive.db", now=NOW.replace(tzinfo=None, microsecond=123456))
    assert store.content_hash() == demo.content_hash()


# -- story customers ---------------------------------------------------------------------------

def test_story_customers_exist_exactly(demo):
    rows = demo.all("SELECT id, name, email, zip, city FROM customers ORDER BY id LIMIT 5")
    assert [(r["id"], r["name"], r["email"], r["zip"]) for r in rows] == [
        ("C0001", "Jane Doe", "jane.doe@example.com", "94107"),
        ("C0002", "Omar Haddad", "omar.haddad@example.com", "10001"),
        ("C0003", "Mei Chen", "mei.chen@example.com", "60614"),
        ("C0004", "Lucas Silva", "lucas.silva@example.com", "73301"),
        ("C0005", "Priya Patel", "priya.patel@example.com", "02139"),
    ]
    assert [r["city"] for r in rows] == ["San Francisco", "New York", "Chicago", "Austin", "Cambridge"]
    for story in STORY_CUSTOMERS:
        ids = [r["id"] for r in demo.all("SELECT id FROM orders WHERE customer_id = ? ORDER BY id", (story.id,))]
        assert ids == list(story.orders)


def test_jane(demo):
    w1001 = order(demo, "W1001")
    assert w1001["status"] == "pending" and w1001["placed_at"] == ago(hours=2)
    assert (w1001["pm"]["kind"], w1001["pm"]["brand"], w1001["pm"]["last4"]) == ("credit_card", "Visa", "4242")
    assert len(w1001["lines"]) == 2
    for line in w1001["lines"]:
        variant = demo.one("SELECT * FROM variants WHERE id = ?", (line["variant_id"],))
        assert variant["stock"] > 0
        assert siblings_in_stock(demo, line["variant_id"]), "changing the size must be possible"
        prices = {r["price_cents"] for r in demo.all("SELECT price_cents FROM variants WHERE product_id = ?",
                                                     (line["product_id"],))}
        assert len(prices) > 1, "another variant at a different price"

    w1002 = order(demo, "W1002")
    assert w1002["status"] == "delivered" and w1002["delivered_at"] == ago(days=10)
    assert [(x["product_name"], x["unit_price_cents"], x["final_sale"], x["quantity"]) for x in w1002["lines"]] \
        == [("Wireless Headphones", 19999, 0, 1)]

    w1003 = order(demo, "W1003")
    assert w1003["status"] == "shipped" and w1003["shipped_at"] == ago(days=2)
    assert w1003["delivered_at"] is None and w1003["shipment"]["carrier"] == "UPS"
    assert w1003["shipment"]["estimated_delivery"] == iso(NOW + timedelta(days=2))[:10]
    assert len(w1003["events"]) >= 2
    assert parse_time(w1003["events"][-1]["at"]) > NOW - timedelta(days=1)

    w1004 = order(demo, "W1004")
    assert w1004["status"] == "delivered" and w1004["delivered_at"] == ago(days=45)


def test_omar_lost_package_candidate(demo):
    w2001 = order(demo, "W2001")
    assert w2001["status"] == "shipped" and w2001["shipped_at"] == ago(days=14)
    assert w2001["shipment"]["estimated_delivery"] == ago(days=7)[:10]
    assert w2001["events"][-1]["at"] == ago(days=9)
    assert w2001["pm"]["kind"] == "gift_card" and w2001["pm"]["balance_cents"] == 2500
    assert w2001["pm"]["customer_id"] == "C0002"


def test_mei(demo):
    w3001 = order(demo, "W3001")
    assert w3001["status"] == "delivered" and w3001["delivered_at"] == ago(days=3)
    assert sorted(x["final_sale"] for x in w3001["lines"]) == [0, 1]
    assert order(demo, "W3002")["status"] == "processing"


def test_lucas_above_the_approval_threshold(demo, policy):
    w4001 = order(demo, "W4001")
    assert w4001["status"] == "delivered" and w4001["delivered_at"] == ago(days=20)
    assert w4001["total_cents"] == 78000 > policy.refunds.approval_threshold_cents


def test_priya(demo):
    w5001 = order(demo, "W5001")
    assert w5001["status"] == "cancelled" and w5001["cancelled_at"] and w5001["cancel_reason"]
    assert w5001["shipment"] is None
    w5002 = order(demo, "W5002")
    assert w5002["status"] == "pending" and w5002["pm"]["kind"] == "paypal"
    assert w5002["pm"]["account_email"] == "priya.patel@example.com"
    for line in w5002["lines"]:
        assert demo.one("SELECT stock FROM variants WHERE id = ?", (line["variant_id"],))["stock"] > 0
        assert siblings_in_stock(demo, line["variant_id"])


def test_story_works_with_the_tools(demo, policy):
    """The story's promises, as the tools see them (no model)."""
    def ctx(customer_id=None):
        return ToolContext(demo, policy, customer_id=customer_id, clock=lambda: NOW)

    for story in STORY_CUSTOMERS:
        result = run_tool(ctx(), "verify_customer", {"email": story.email, "zip_code": story.zip})
        assert result.status == "ok", result.message
    lost = run_tool(ctx("C0002"), "track_shipment", {"order_id": "W2001"})
    assert lost.data["lost_claim_eligible"] is True
    moving = run_tool(ctx("C0001"), "track_shipment", {"order_id": "W1003"})
    assert moving.data["delayed"] is False and moving.data["lost_claim_eligible"] is False


# -- the generated population ------------------------------------------------------------------

def test_every_order_status_is_present(demo):
    present = {r["status"] for r in demo.all("SELECT DISTINCT status FROM orders")}
    assert present == set(get_args(OrderStatus))


def test_money_is_consistent_on_every_order(demo):
    bad_totals = demo.all("SELECT id FROM orders WHERE total_cents != subtotal_cents + shipping_cents + tax_cents")
    bad_lines = demo.all(
        "SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id GROUP BY o.id "
        "HAVING sum(l.unit_price_cents * l.quantity) != o.subtotal_cents")
    no_lines = demo.all("SELECT id FROM orders WHERE id NOT IN (SELECT order_id FROM order_lines)")
    assert bad_totals == [] and bad_lines == [] and no_lines == []
    assert demo.one("SELECT count(*) AS n FROM orders WHERE subtotal_cents <= 0 OR tax_cents < 0 "
                    "OR shipping_cents < 0")["n"] == 0


def test_lines_copy_the_catalog(demo):
    mismatched = demo.all(
        "SELECT l.id FROM order_lines l JOIN variants v ON v.id = l.variant_id JOIN products p ON p.id = v.product_id "
        "WHERE l.product_id != p.id OR l.product_name != p.name OR l.final_sale != p.final_sale "
        "OR l.unit_price_cents != v.price_cents")
    assert mismatched == []


def test_lifecycle_times_match_each_status(demo):
    now = iso(NOW)
    for o in demo.all("SELECT * FROM orders"):
        status = o["status"]
        assert o["placed_at"] <= now and o["updated_at"] <= now, o["id"]
        shipped = status not in ("pending", "processing", "cancelled")
        assert (o["shipped_at"] is not None) == shipped, o["id"]
        delivered = status in ("delivered", "return_requested", "returned", "exchange_requested")
        assert (o["delivered_at"] is not None) == delivered, o["id"]
        assert (o["cancelled_at"] is not None and bool(o["cancel_reason"])) == (status == "cancelled"), o["id"]
        if shipped:
            assert o["placed_at"] < o["shipped_at"], o["id"]
        if delivered:
            assert o["shipped_at"] < o["delivered_at"] <= now, o["id"]
        if status == "cancelled":
            assert o["placed_at"] < o["cancelled_at"] <= now, o["id"]
        ship = demo.one("SELECT * FROM shipments WHERE order_id = ?", (o["id"],))
        assert (ship is not None) == shipped, o["id"]
        if ship:
            assert ship["carrier"] in ("UPS", "FedEx", "USPS", "DHL") and ship["tracking_number"]
            assert ship["service_level"] and re.fullmatch(r"\d{4}-\d\d-\d\d", ship["estimated_delivery"])
            assert ship["shipped_at"] == o["shipped_at"] and ship["delivered_at"] == o["delivered_at"]
            events = [e["at"] for e in demo.all("SELECT at FROM tracking_events WHERE shipment_id = ? ORDER BY id",
                                                (ship["id"],))]
            assert events and events == sorted(events) and len(set(events)) == len(events), o["id"]
            assert events[0] == ship["shipped_at"] and events[-1] <= now, o["id"]
            if delivered:
                assert events[-1] == o["delivered_at"], o["id"]


def test_returns_and_refunds(demo, policy):
    for status in ("returned", "return_requested", "exchange_requested"):
        missing = demo.all("SELECT id FROM orders WHERE status = ? AND id NOT IN (SELECT order_id FROM returns)",
                           (status,))
        assert missing == [], status
    assert demo.all("SELECT r.id FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.created_at < o.delivered_at "
                    "OR r.created_at > ?", (iso(NOW),)) == []
    # a returned order got everything back, and a refund for it
    partial = demo.all(
        "SELECT o.id FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.status = 'returned' AND l.id NOT IN "
        "(SELECT order_line_id FROM return_lines)")
    assert partial == []
    unpaid = demo.all("SELECT id FROM returns WHERE status = 'refunded' AND id NOT IN "
                      "(SELECT return_id FROM refunds WHERE return_id IS NOT NULL)")
    assert unpaid == []
    assert demo.all("SELECT id FROM refunds r WHERE amount_cents > "
                    "(SELECT total_cents FROM orders WHERE id = r.order_id)") == []
    assert {r["status"] for r in demo.all("SELECT DISTINCT status FROM returns")} <= {
        "label_sent", "authorized", "refunded"}
    fees = demo.all("SELECT * FROM returns WHERE condition = 'opened'")
    assert fees and all(r["restocking_fee_cents"] > 0 for r in fees)


def test_every_policy_edge_is_present(demo, policy):
    now, window = iso(NOW), policy.returns.window_days
    one = lambda sql, *p: demo.one(sql, p)["n"]  # noqa: E731
    delivered = "SELECT count(*) AS n FROM orders WHERE status = 'delivered' AND delivered_at "
    # delivered just inside and just outside the return window
    assert one(delivered + "BETWEEN ? AND ?", ago(days=window), ago(days=window - 1))
    assert one(delivered + "BETWEEN ? AND ?", ago(days=window + 1), ago(days=window))
    # final-sale lines, inside the window
    assert one("SELECT count(*) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE l.final_sale = 1 "
               "AND o.status = 'delivered' AND o.delivered_at > ?", ago(days=window))
    # gift-card orders whose card has a small balance
    assert one("SELECT count(*) AS n FROM orders o JOIN payment_methods p ON p.id = o.payment_method_id "
               "WHERE p.kind = 'gift_card' AND p.balance_cents < 1000 AND o.status IN ('pending', 'processing')")
    # shipments: delayed (> delayed_after_days without a scan), and lost candidates
    last_scan = ("SELECT o.id, max(e.at) AS last, s.estimated_delivery AS eta FROM orders o "
                 "JOIN shipments s ON s.order_id = o.id JOIN tracking_events e ON e.shipment_id = s.id "
                 "WHERE o.status = 'shipped' GROUP BY o.id")
    shipped = demo.all(last_scan)
    delayed = [s for s in shipped if s["last"] < ago(days=policy.tracking.delayed_after_days)]
    lost = [s for s in shipped if s["last"] <= ago(days=policy.tracking.lost_after_days_without_movement)
            and s["eta"] < now[:10]]
    assert len(delayed) > len(lost) >= 3  # Omar's W2001 and at least two generated ones
    assert any(s["eta"] >= now[:10] for s in delayed), "a delay whose estimate has not passed"
    # above the refund-approval threshold
    threshold = policy.refunds.approval_threshold_cents
    assert one("SELECT count(*) AS n FROM orders WHERE total_cents > ? AND status = 'delivered' AND id != 'W4001'",
               threshold)
    assert one("SELECT count(*) AS n FROM orders WHERE total_cents > ? AND status = 'pending'", threshold)
    # out-of-stock variants, ordered in open orders
    assert one("SELECT count(*) AS n FROM variants WHERE stock = 0") >= 5
    assert one("SELECT count(*) AS n FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN variants v "
               "ON v.id = l.variant_id WHERE v.stock = 0 AND o.status IN ('pending', 'processing')")
    # every payment kind is used
    kinds = {r["kind"] for r in demo.all("SELECT DISTINCT p.kind FROM orders o JOIN payment_methods p "
                                         "ON p.id = o.payment_method_id")}
    assert kinds == {"credit_card", "paypal", "gift_card", "e_wallet"}


def test_payment_methods_hold_no_card_numbers(demo):
    for pm in demo.all("SELECT * FROM payment_methods"):
        if pm["kind"] == "credit_card":
            assert pm["brand"] and re.fullmatch(r"\d{4}", pm["last4"]), pm
        if pm["kind"] == "paypal":
            assert pm["account_email"], pm
        if pm["kind"] == "gift_card":
            assert pm["balance_cents"] is not None and pm["balance_cents"] >= 0, pm
        text = json.dumps(pm)
        assert not re.search(r"\d{12,}", text), pm


def test_generated_customers(demo):
    rows = demo.all("SELECT * FROM customers WHERE id > 'C0005' ORDER BY id")
    assert rows[0]["id"] == "C0006" and len(rows) == 45
    for r in rows:
        n = int(r["id"][1:])
        assert r["email"].endswith(f".{n}@example.net") and r["zip"] and r["address_line1"], r
    assert demo.all("SELECT id FROM customers WHERE id NOT IN (SELECT customer_id FROM orders)") == []
    ids = [r["id"] for r in demo.all("SELECT id FROM orders WHERE length(id) > 5 ORDER BY placed_at, id")]
    assert ids[0] == "W10001" and ids == sorted(ids, key=lambda i: int(i[1:]))  # ids follow placing time


def test_variants_have_options_json(demo):
    for v in demo.all("SELECT * FROM variants"):
        options = json.loads(v["options"])
        assert options and all(isinstance(k, str) and isinstance(x, str) for k, x in options.items())
        assert v["price_cents"] > 0 and v["stock"] >= 0


# -- support-agent init ------------------------------------------------------------------------

@pytest.fixture
def init_cli(monkeypatch):
    """`agent.cli.main` with only the init command registered, so this test does not depend on the
    other subcommands' modules."""
    monkeypatch.setattr(cli, "COMMANDS", {"init": cli.COMMANDS["init"]})
    return cli.main


def test_init_creates_the_store_and_refuses_to_overwrite(tmp_path, init_cli, capsys):
    db = tmp_path / "shop.db"
    assert init_cli(["init", "--db", str(db), "--now", iso(NOW)]) == 0
    out = capsys.readouterr().out
    assert "jane.doe@example.com" in out and "94107" in out
    store = Store(db, create=False)
    assert store.content_hash() == build_demo_store(tmp_path / "same.db", now=NOW).content_hash()
    store.close()
    before = db.stat().st_mtime_ns

    assert init_cli(["init", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err and "Traceback" not in err
    assert db.stat().st_mtime_ns == before

    assert init_cli(["init", "--db", str(db), "--force", "--seed", "3", "--customers", "12",
                     "--now", "2025-01-01T00:00:00Z"]) == 0
    meta = read_meta(Store(db, create=False))
    assert (meta["seed"], meta["customers"], meta["now"]) == ("3", "12", "2025-01-01T00:00:00Z")
    assert not list(tmp_path.glob(".shop.db.building-*"))


def test_init_uses_the_default_db_from_the_environment(tmp_path, init_cli, monkeypatch):
    db = tmp_path / "env.db"
    monkeypatch.setenv("SUPPORT_AGENT_DB", str(db))
    assert init_cli(["init", "--now", iso(NOW)]) == 0
    assert db.exists()


@pytest.mark.parametrize("argv, code, message", [
    (["--now", "yesterday"], 2, "ISO 8601"),
    (["--customers", "2"], 2, "at least 5"),
])
def test_init_rejects_bad_options(tmp_path, init_cli, capsys, argv, code, message):
    db = tmp_path / "x.db"
    assert init_cli(["init", "--db", str(db), *argv]) == code
    assert message in capsys.readouterr().err
    assert not db.exists()


def test_init_reports_an_unwritable_path_without_a_traceback(tmp_path, init_cli, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    assert init_cli(["init", "--db", str(blocker / "shop.db")]) == 1
    err = capsys.readouterr().err
    assert "could not create the demo store" in err and "Traceback" not in err
