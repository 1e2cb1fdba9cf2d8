"""The store as a boundary: no cross-customer leaks, idempotent and serialised writes, migrations,
and clean errors for a corrupt, missing or locked database."""

import sqlite3
import threading

import pytest

from tools.backend import open_backend
from tools.context import ToolContext
from tools.errors import StoreError
from tools.migrations import MIGRATIONS, migrate
from tools.registry import run_tool
from tools.store import Store

ORDER_TOOLS = [
    ("get_order", {}), ("track_shipment", {}), ("list_variants", {}),
    ("cancel_order", {"reason": "x"}), ("modify_order_address", {"address_line1": "1 A St", "city": "X", "zip_code": "12345"}),
    ("check_refund_eligibility", {"condition": "opened"}), ("start_return", {"condition": "opened", "reason": "x"}),
    ("issue_refund", {}), ("report_lost_package", {"remedy": "refund"}),
    ("file_complaint", {"category": "billing", "summary": "x"}),
]


@pytest.mark.parametrize("tool,extra", ORDER_TOOLS, ids=[t for t, _ in ORDER_TOOLS])
@pytest.mark.parametrize("execute", [False, True])
def test_another_customers_order_answers_like_a_missing_one(shop, store, ctx_for, tool, extra, execute):
    before = store.content_hash()
    theirs = run_tool(ctx_for("C-JANE"), tool, {"order_id": "W2001", **extra}, execute=execute)
    missing = run_tool(ctx_for("C-JANE"), tool, {"order_id": "W9999", **extra}, execute=execute)
    assert theirs.status == "denied"
    assert theirs.model_dump_json().replace("W2001", "W?") == missing.model_dump_json().replace("W9999", "W?")
    assert store.content_hash() == before


def test_same_action_key_executes_once(shop, store, ctx_for):
    jane = ctx_for("C-JANE")
    args = {"order_id": "W1002", "condition": "opened", "reason": "too loud"}
    first = run_tool(jane, "start_return", args, execute=True, key="action-1")
    second = run_tool(jane, "start_return", args, execute=True, key="action-1")
    assert first.status == second.status == "ok"
    assert first.data["return_id"] == second.data["return_id"]
    assert store.one("SELECT count(*) AS n FROM returns")["n"] == 1
    assert store.one("SELECT count(*) AS n FROM executed_actions")["n"] == 1


def test_default_key_makes_a_repeated_confirmation_one_write(shop, store, ctx_for):
    jane = ctx_for("C-JANE")
    for _ in range(2):
        assert run_tool(jane, "cancel_order", {"order_id": "W1001", "reason": "dup"}, execute=True).status == "ok"
    assert store.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1


def test_two_connections_cancelling_the_same_order_one_succeeds(shop, store_url, policy, now):
    stores = [open_backend(store_url), open_backend(store_url)]
    barrier = threading.Barrier(2)
    results = [None, None]

    def cancel(i: int) -> None:
        ctx = ToolContext(store=stores[i], policy=policy, customer_id="C-JANE", clock=lambda: now)
        barrier.wait()
        results[i] = run_tool(ctx, "cancel_order", {"order_id": "W1001", "reason": f"thread {i}"},
                              execute=True, key=f"k{i}")

    threads = [threading.Thread(target=cancel, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status for r in results)
    assert statuses == ["denied", "ok"]
    assert next(r for r in results if r.status == "denied").rule == "cancellation.allowed_statuses"
    check = open_backend(store_url)
    assert check.one("SELECT count(*) AS n FROM refunds WHERE order_id = 'W1001'")["n"] == 1
    assert check.one("SELECT count(*) AS n FROM executed_actions")["n"] == 1
    for s in (*stores, check):
        s.close()


@pytest.mark.sqlite_only
def test_migrations_rerun_is_a_no_op(store):
    schema = store.all("SELECT name, sql FROM sqlite_master ORDER BY name")
    assert migrate(store.db) == []
    assert store.all("SELECT name, sql FROM sqlite_master ORDER BY name") == schema
    names = [r["name"] for r in store.all("SELECT name FROM _migrations ORDER BY name")]
    assert names == sorted(n for n, _ in MIGRATIONS)
    Store(store.path).close()  # opening again migrates nothing either
    assert store.one("SELECT count(*) AS n FROM _migrations")["n"] == len(MIGRATIONS)


def test_corrupt_database_is_a_store_error(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a sqlite database" * 200)
    with pytest.raises(StoreError, match="corrupt.db"):
        Store(path)


def test_missing_database_without_create_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="init"):
        Store(tmp_path / "nope.db", create=False)


@pytest.mark.sqlite_only
def test_locked_database_gives_a_clean_error_result(shop, store, db_path, ctx_for):
    store.db.execute("PRAGMA busy_timeout = 50")  # fail fast instead of waiting 5 s
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        r = run_tool(ctx_for("C-JANE"), "cancel_order", {"order_id": "W1001", "reason": "x"}, execute=True)
        assert r.status == "error" and "nothing was changed" in r.message and r.tool == "cancel_order"
        escalation = run_tool(ctx_for("C-JANE"), "escalate_to_human", {"reason": "other", "summary": "hi"})
        assert escalation.status == "error"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.one("SELECT status FROM orders WHERE id = 'W1001'")["status"] == "pending"
