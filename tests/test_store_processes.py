"""Two processes cancel the same order at the same moment, 50 times over: exactly one succeeds each
time, with one refund. Each process opens the store itself (its own connections, as a server worker
does) and both wait at a barrier before every cancel. Runs on both backends (a conformance module):
PostgreSQL serialises them with an advisory lock and a conditional update, SQLite with BEGIN
IMMEDIATE."""

from __future__ import annotations

import multiprocessing

from tools.backend import open_backend
from tools.context import ToolContext
from tools.policy import load_policy
from tools.registry import run_tool

ROUNDS = 50


def cancel_each(url: str, orders: list[str], now, barrier, results, worker: int) -> None:
    """One process: for each order, wait for the other process, then cancel it."""
    store = open_backend(url)
    ctx = ToolContext(store=store, policy=load_policy(), customer_id="C-JANE", clock=lambda: now)
    try:
        for order in orders:
            barrier.wait(timeout=60)
            result = run_tool(ctx, "cancel_order", {"order_id": order, "reason": f"process {worker}"},
                              execute=True, key=f"{order}-p{worker}")
            results.put((order, worker, result.status, result.rule))
    finally:
        store.close()


def test_two_processes_cancel_one_order_at_once_one_succeeds_every_time(builder, store, store_url, now):
    builder.build_story_shop()
    orders = [builder.order(f"W9{n:03d}", "C-JANE", "pending", [("V-SOCKS", 1)], payment_method_id="PM-JANE-CC")
              for n in range(ROUNDS)]
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(2), spawn.Queue()
    workers = [spawn.Process(target=cancel_each, args=(store_url, orders, now, barrier, results, w)) for w in (0, 1)]
    for w in workers:
        w.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * ROUNDS)]
    for w in workers:
        w.join(30)
        assert w.exitcode == 0

    by_order: dict[str, list[tuple[str, str | None]]] = {}
    for order, _, status, rule in outcomes:
        by_order.setdefault(order, []).append((status, rule))
    assert sorted(by_order) == orders
    for order, pair in by_order.items():
        assert sorted(pair) == [("denied", "cancellation.allowed_statuses"), ("ok", None)], order
    assert {w for _, w, status, _ in outcomes if status == "ok"} == {0, 1}  # both won some: a real race
    refunds = store.all("SELECT order_id, count(*) AS n FROM refunds WHERE order_id LIKE 'W9%' GROUP BY order_id")
    assert sorted((r["order_id"], r["n"]) for r in refunds) == [(o, 1) for o in orders]
    assert store.one("SELECT count(*) AS n FROM orders WHERE id LIKE 'W9%' AND status = 'cancelled'")["n"] == ROUNDS
