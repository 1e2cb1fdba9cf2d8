"""Latency of every tool on a 100k-order demo store: p50/p99 of each read tool, and of preview +
execute (one sample = both) of each write tool, over many calls on varied customers and orders.

    .venv/bin/python bench/bench_tools.py [--customers 16700] [--calls 300] [--db PATH] [--rebuild]
        [--store sqlite|postgresql|postgresql://user@host:port]

SQLite (the default): the demo store is built once (fixtures.build_demo_store, seed 7) into
$TMPDIR/support-agent-bench/ and reused; each run works on a fresh copy, so the writes never drift the
cached store. PostgreSQL: the same store is built into a new database of a throwaway server
(bench/throwaway_pg.py; `postgresql`) or of the server a URL names, for each run. Target: p50 <= 5 ms.
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from fixtures import build_demo_store, store_reference_now  # noqa: E402
from tools.backend import open_backend  # noqa: E402
from tools.context import ToolContext  # noqa: E402
from tools.policy import load_policy  # noqa: E402
from tools.registry import all_tools, run_tool  # noqa: E402
from tools.store import Store  # noqa: E402
from tools.values import iso  # noqa: E402

TARGET_P50_MS = 5.0
CACHE = Path(tempfile.gettempdir()) / "support-agent-bench"  # outside the repo: never committed
QUERIES = ["how do I reset my password", "what is your return policy", "which payment methods do you accept",
           "do you ship to canada", "promo code not working", "is there a mobile app", "support hours",
           "delete my data privacy", "gift card balance", "supported browsers", "how long does shipping take",
           "size chart", "my package is late", "change my order", "\"weird\" query* NEAR( -"]

Call = tuple[str | None, dict[str, Any]]  # (customer_id, args)


def build_or_reuse(path: Path, customers: int, seed: int, rebuild: bool) -> None:
    if path.exists() and not rebuild:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    console = Console(stderr=True)
    with console.status(f"building a demo store with {customers} customers (seed {seed})..."):
        start = time.perf_counter()
        store = build_demo_store(path, seed=seed, customers=customers)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
    console.print(f"built {path} in {time.perf_counter() - start:.1f} s")


def plan_calls(store: Store, policy, n: int, rng: random.Random) -> dict[str, list[Call]]:
    """Arguments for each tool, on varied customers and orders, mostly on the path that does work."""
    orders = store.all("SELECT id, customer_id, status, delivered_at FROM orders")
    by_status: dict[str, list[dict]] = {}
    for o in orders:
        by_status.setdefault(o["status"], []).append(o)
    for rows in by_status.values():
        rng.shuffle(rows)
    customers = store.all("SELECT id, email, zip FROM customers")
    some_customers = rng.sample(customers, min(n, len(customers)))
    some_orders = rng.sample(orders, min(n, len(orders)))
    delivered = by_status.get("delivered", [])
    window_start = store_reference_now(store) - timedelta(days=policy.returns.window_days)
    returnable = [o for o in delivered if o["delivered_at"] and o["delivered_at"] >= iso(window_start)]
    first_line = {}
    pending = by_status.get("pending", [])
    for o in pending[: 2 * n]:
        line = store.one("SELECT id, quantity FROM order_lines WHERE order_id = ? ORDER BY id LIMIT 1", (o["id"],))
        first_line[o["id"]] = line
    open_orders = pending + by_status.get("processing", [])
    rng.shuffle(open_orders)
    address = {"address_line1": "500 Bench St", "city": "Portland", "state": "OR", "zip_code": "97201"}
    in_transit = by_status.get("shipped", []) + by_status.get("out_for_delivery", [])
    rng.shuffle(in_transit)
    # Lost-package claims: the parcels that qualify first (the path that writes), then the others.
    now = store_reference_now(store)
    claimable = store.all(
        "SELECT o.id, o.customer_id FROM orders o JOIN shipments s ON s.order_id = o.id "
        "WHERE o.status IN ('shipped', 'out_for_delivery') AND s.estimated_delivery < ? AND coalesce("
        "(SELECT max(at) FROM tracking_events e WHERE e.shipment_id = s.id), s.shipped_at) <= ?",
        (iso(now)[:10], iso(now - timedelta(days=policy.tracking.lost_after_days_without_movement))))
    claim_ids = {o["id"] for o in claimable}
    lost = claimable + [o for o in in_transit if o["id"] not in claim_ids]
    return {
        "verify_customer": [(None, {"email": c["email"], "zip_code": c["zip"]}) for c in some_customers],
        "get_order": [(o["customer_id"], {"order_id": o["id"]}) for o in some_orders],
        "list_orders": [(c["id"], {}) for c in some_customers],
        "track_shipment": [(o["customer_id"], {"order_id": o["id"]}) for o in (in_transit + delivered)[:n]],
        "list_variants": [(o["customer_id"], {"order_id": o["id"]}) for o in some_orders],
        "check_refund_eligibility": [(o["customer_id"], {"order_id": o["id"], "condition": "opened"})
                                     for o in returnable[:n]],
        "search_help_center": [(None, {"query": QUERIES[i % len(QUERIES)]}) for i in range(n)],
        "escalate_to_human": [(c["id"], {"reason": "customer_request", "summary": f"bench request {i}"})
                              for i, c in enumerate(some_customers)],
        "send_password_reset": [(c["id"], {}) for c in some_customers],
        "cancel_order": [(o["customer_id"], {"order_id": o["id"], "reason": "bench"}) for o in open_orders[:n]],
        "modify_order_address": [(o["customer_id"], {"order_id": o["id"], **address}) for o in open_orders[n:2 * n]],
        "modify_order_items": [(o["customer_id"], {"order_id": o["id"], "line_id": first_line[o["id"]]["id"],
                                                   "new_quantity": first_line[o["id"]]["quantity"] + 1})
                               for o in pending[n:2 * n] if first_line.get(o["id"])],
        "start_return": [(o["customer_id"], {"order_id": o["id"], "condition": "unopened", "reason": "bench"})
                         for o in returnable[:n]],
        "issue_refund": [(o["customer_id"], {"order_id": o["id"]}) for o in by_status.get("return_requested", [])[:n]],
        "report_lost_package": [(o["customer_id"], {"order_id": o["id"], "remedy": rng.choice(["refund", "replacement"])})
                                for o in lost[:n]],
        "file_complaint": [(o["customer_id"], {"category": "billing", "summary": "charged twice", "order_id": o["id"]})
                           for o in delivered[2 * n:3 * n]],
        "update_account": [(c["id"], {"field": "phone", "phone": f"+1503555{i:04d}"}) for i, c in enumerate(some_customers)],
    }


def measure(store: Store, policy, clock: Callable, tool, calls: list[Call]) -> tuple[list[float], Counter]:
    samples, statuses = [], Counter()
    for customer_id, args in calls:
        ctx = ToolContext(store=store, policy=policy, customer_id=customer_id, clock=clock)
        start = time.perf_counter()
        result = run_tool(ctx, tool.name, args)
        if tool.is_write and result.status == "needs_confirmation":
            result = run_tool(ctx, tool.name, args, execute=True)
        samples.append((time.perf_counter() - start) * 1000)
        statuses[result.status] += 1
    return samples, statuses


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@contextmanager
def bench_store(args: argparse.Namespace) -> Iterator[Store]:
    """The store to measure on: a fresh copy of the cached SQLite store, or a PostgreSQL database
    built for this run."""
    if args.store == "sqlite":
        cached = args.db or CACHE / f"demo_{args.customers}_seed{args.seed}.db"
        build_or_reuse(cached, args.customers, args.seed, args.rebuild)
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "bench.db"
            shutil.copyfile(cached, work)
            store = Store(work, create=False)
            yield store
            store.close()
        return
    with ExitStack() as stack:
        from throwaway_pg import new_database, throwaway_postgres

        server = args.store if "://" in args.store else stack.enter_context(throwaway_postgres())
        url = new_database(server.rstrip("/"))
        console = Console(stderr=True)
        with console.status(f"building a demo store with {args.customers} customers in PostgreSQL..."):
            start = time.perf_counter()
            build_demo_store(url, seed=args.seed, customers=args.customers).close()
        console.print(f"built it in {time.perf_counter() - start:.1f} s")
        store = open_backend(url)
        stack.callback(store.close)
        yield store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=16700, help="demo-store size (about 6 orders each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300, help="calls per tool")
    parser.add_argument("--store", default="sqlite", metavar="sqlite|postgresql|URL",
                        help="sqlite (default), postgresql (a throwaway server) or the postgresql:// URL of a "
                             "server to make a database on")
    parser.add_argument("--db", type=Path, help="the cached SQLite demo store (default: $TMPDIR/support-agent-bench/demo_<customers>_seed<seed>.db)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached demo store")
    args = parser.parse_args(argv)
    if not (args.store in ("sqlite", "postgresql") or args.store.startswith(("postgresql://", "postgres://"))):
        parser.error(f"--store: sqlite, postgresql or a postgresql:// URL, not {args.store!r}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop a throwaway PostgreSQL on the way out
    with bench_store(args) as store:
        table, worst = measure_all(store, args)
    console = Console()
    console.print(table)
    verdict = "met" if worst <= TARGET_P50_MS else "NOT met"
    console.print(f"target p50 <= {TARGET_P50_MS:g} ms for every tool: {verdict} (worst p50 {worst:.2f} ms)")
    return 0 if worst <= TARGET_P50_MS else 1


def measure_all(store: Store, args: argparse.Namespace) -> tuple[Table, float]:
    """Every tool's p50 / p99 on the store, as a table, and the worst p50."""
    policy = load_policy()
    now = store_reference_now(store) or datetime.now(timezone.utc)
    clock = lambda: now  # noqa: E731  (the store's reference time keeps its relative dates true)
    n_orders = store.one("SELECT count(*) AS n FROM orders")["n"]
    plans = plan_calls(store, policy, args.calls, random.Random(args.seed))
    # Warm up: the first search loads the help center index if the store has none yet.
    run_tool(ToolContext(store=store, policy=policy, clock=clock), "search_help_center", {"query": "warm up"})
    backend = "SQLite" if args.store == "sqlite" else "PostgreSQL"
    table = Table(title=f"Tool latency on {backend}, {n_orders:,} orders, {args.calls} calls per tool "
                        f"(write = preview + execute)")
    for col in ("tool", "kind", "calls", "p50 ms", "p99 ms", "outcomes"):
        table.add_column(col, justify="right" if col in ("calls", "p50 ms", "p99 ms") else "left")
    worst = 0.0
    for tool in all_tools():
        calls = plans.get(tool.name, [])
        if not calls:
            table.add_row(tool.name, "write" if tool.is_write else "read", "0", "-", "-", "no sample")
            continue
        samples, statuses = measure(store, policy, clock, tool, calls)
        p50, p99 = statistics.median(samples), percentile(samples, 99)
        worst = max(worst, p50)
        style = "green" if p50 <= TARGET_P50_MS else "red"
        table.add_row(tool.name, "write" if tool.is_write else "read", str(len(samples)),
                      f"[{style}]{p50:.2f}[/{style}]", f"{p99:.2f}",
                      ", ".join(f"{k} {v}" for k, v in statuses.most_common()))
    return table, worst


if __name__ == "__main__":
    sys.exit(main())
