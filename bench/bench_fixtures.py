"""How long the demo store takes to build, and how big it is: the default store and a 100k-order one.

    .venv/bin/python bench/bench_fixtures.py                  # default (50 customers) and 100k orders
    .venv/bin/python bench/bench_fixtures.py --customers 50 2000 --keep /tmp/stores

The target: a 100k-order store (16,700 customers) builds in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from fixtures import build_demo_store  # noqa: E402

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=timezone.utc)  # fixed, so runs are comparable
TARGET_SECONDS = {16700: 60.0}


def bench(path: Path, customers: int, seed: int) -> dict:
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages.setdefault(stage, time.perf_counter() - started)

    store = build_demo_store(path, seed=seed, now=NOW, customers=customers, progress=progress)
    seconds = time.perf_counter() - started
    orders = store.db["orders"].count
    rows = sum(store.db[t].count for t in store.db.table_names() if not t.startswith("_") and "_fts" not in t)
    store.close()
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    generate = stages.get("writing", seconds)
    return {"customers": customers, "orders": orders, "rows": rows, "seconds": seconds,
            "generate_seconds": generate, "write_seconds": seconds - generate, "bytes": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[50, 16700])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, default=None, help="keep the stores in this folder")
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-fixtures-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'customers':>9} {'orders':>8} {'rows':>9} {'build s':>8} {'generate s':>10} {'write s':>8} "
          f"{'db MB':>7}")
    failed = False
    for n in args.customers:
        path = folder / f"demo-{n}.db"
        for p in folder.glob(path.name + "*"):
            p.unlink()
        r = bench(path, n, args.seed)
        target = TARGET_SECONDS.get(n)
        verdict = "" if target is None else (" ok" if r["seconds"] < target else f" SLOWER THAN {target:.0f} s")
        failed |= target is not None and r["seconds"] >= target
        print(f"{r['customers']:>9,} {r['orders']:>8,} {r['rows']:>9,} {r['seconds']:>8.2f} "
              f"{r['generate_seconds']:>10.2f} {r['write_seconds']:>8.2f} {r['bytes'] / 1e6:>7.1f}{verdict}")
        if args.keep is None:
            for p in folder.glob(path.name + "*"):
                p.unlink()
    if args.keep is None:
        folder.rmdir()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
