"""`support-agent init`: build the demo store (story customers + a seeded population of orders).

Builds into a temporary file next to the target and moves it into place at the end, so a failed or
interrupted build never leaves a half-made store behind. Uses only `tools` and `fixtures`: no model.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fixtures import DEFAULT_CUSTOMERS, DEFAULT_SEED, STORY_CUSTOMERS, build_demo_store
from fixtures.demo_store import MIN_CUSTOMERS, read_meta
from tools.backend import StoreURL, open_backend
from tools.errors import SupportAgentError
from tools.values import parse_time

PROGRESS_FROM_CUSTOMERS = 1000  # below this a build takes about a second: no bar
SUMMARY_TABLES = ("customers", "payment_methods", "products", "variants", "orders", "order_lines",
                  "shipments", "tracking_events", "returns", "refunds", "help_articles")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", "--db", dest="store", default=None, metavar="PATH_OR_URL",
                        help="the store to create: a SQLite file, or a postgresql:// URL of an existing "
                             "database (default: $SUPPORT_AGENT_STORE, else $SUPPORT_AGENT_DB, else "
                             "./support_agent.db)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed of the generated customers and orders (default {DEFAULT_SEED})")
    parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS,
                        help=f"customers, story customers included; about 6 orders each "
                             f"(default {DEFAULT_CUSTOMERS}; 16700 gives about 100k orders)")
    parser.add_argument("--now", default=None, metavar="ISO",
                        help="reference time all dates are relative to, e.g. 2025-03-14T12:00:00Z "
                             "(default: the current time)")
    parser.add_argument("--force", action="store_true", help="replace an existing database file")


def run(args: argparse.Namespace) -> int:
    from agent.cli import store_location  # the one place that knows the default location

    out, err = Console(), Console(stderr=True)
    if args.customers < MIN_CUSTOMERS:
        err.print(f"[red]error:[/] --customers must be at least {MIN_CUSTOMERS} (the story customers).")
        return 2
    try:
        now = parse_time(args.now) if args.now else None
    except ValueError:
        err.print(f"[red]error:[/] --now {escape(repr(args.now))} is not an ISO 8601 time "
                  f"(e.g. 2025-03-14T12:00:00Z).")
        return 2
    try:
        where = store_location(args.store)
    except SupportAgentError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    if where.kind == "postgresql":
        return _init_postgres(args, where, now, out, err)
    path = where.path
    if path.exists() and not args.force:
        err.print(f"[red]error:[/] {escape(str(path))} already exists. Use --force to replace it, "
                  f"or --db to choose another file.")
        return 1
    if path.exists() and not path.is_file():
        err.print(f"[red]error:[/] {escape(str(path))} is not a file.")
        return 1

    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    started = time.perf_counter()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_db_files(tmp)
        with _progress(args.customers >= PROGRESS_FROM_CUSTOMERS) as progress:
            store = build_demo_store(tmp, seed=args.seed, now=now, customers=args.customers,
                                     progress=progress)
        counts, meta = _counts(store), read_meta(store)
        store.close()  # the last connection checkpoints the WAL into the file before the move
        _remove_db_files(path)  # an old -wal next to the new file would be replayed into it
        os.replace(tmp, path)
    except (OSError, sqlite3.Error, SupportAgentError, ValueError) as exc:
        _remove_db_files(tmp, quiet=True)
        err.print(f"[red]error:[/] could not create the demo store at {escape(str(path))}: {escape(str(exc))}")
        return 1
    except KeyboardInterrupt:
        _remove_db_files(tmp, quiet=True)
        raise

    _summary(out, path, counts, meta, time.perf_counter() - started)
    return 0


def _init_postgres(args: argparse.Namespace, where: StoreURL, now, out: Console, err: Console) -> int:
    """Build into a PostgreSQL database (one transaction: a failed build leaves it as it was)."""
    started = time.perf_counter()
    try:
        if args.force:
            backend = open_backend(where)
            backend.clear()
            backend.close()
        with _progress(args.customers >= PROGRESS_FROM_CUSTOMERS) as progress:
            store = build_demo_store(where, seed=args.seed, now=now, customers=args.customers, progress=progress)
        counts, meta = _counts(store), read_meta(store)
        store.close()
    except (SupportAgentError, ValueError) as exc:
        hint = " Use --force to replace it." if "already holds" in str(exc) else ""
        err.print(f"[red]error:[/] could not create the demo store at {escape(where.display())}: "
                  f"{escape(str(exc))}{hint}")
        return 1
    _summary(out, where.display(), counts, meta, time.perf_counter() - started)
    return 0


def _counts(store) -> dict[str, int]:
    return {t: store.one(f"SELECT count(*) AS n FROM {t}")["n"] for t in SUMMARY_TABLES}


class _progress:
    """A rich progress bar fed by build_demo_store's `progress(stage, done, total)` callback."""

    def __init__(self, enabled: bool):
        self.bar = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), transient=True, console=Console(stderr=True)) if enabled else None
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


def _remove_db_files(path: Path, *, quiet: bool = False) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            p.unlink()
        except (FileNotFoundError, NotADirectoryError):
            pass
        except OSError:
            if not quiet:
                raise


def _summary(out: Console, path: Path | str, counts: dict[str, int], meta: dict[str, str], seconds: float) -> None:
    out.print(f"[green]Demo store created:[/] {escape(str(path))} "
              f"(seed {meta.get('seed')}, dates relative to {meta.get('now')}, {seconds:.1f} s)")
    table = Table(title="Rows per table", show_header=True)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    story = Table(title="Story customers (verify with email + zip code)")
    for col in ("customer", "email", "zip", "orders"):
        story.add_column(col)
    for c in STORY_CUSTOMERS:
        story.add_row(c.name, c.email, c.zip, ", ".join(c.orders))
    out.print(story)
    db = "" if path == _default_path() else f" --store {escape(str(path))}"
    out.print("Try: [bold]support-agent tools call get_order --args '{\"order_id\": \"W1001\"}' "
              f"--customer jane.doe@example.com{db}[/]")


def _default_path() -> Path:
    from agent.cli import default_db_path

    return default_db_path()
