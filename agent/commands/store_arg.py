"""The `--store` argument of the commands that run the agent (chat, serve): the commerce backend, a
SQLite file (the demo store is created there when missing) or a postgresql:// URL (filled by
`support-agent init --store URL`)."""

from __future__ import annotations

import argparse

from tools.backend import CommerceBackend, open_backend


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", "--db", dest="store", default=None, metavar="PATH_OR_URL",
                        help="the commerce backend: a SQLite file (created with the demo data if missing) or a "
                             "postgresql:// URL (env SUPPORT_AGENT_STORE, else SUPPORT_AGENT_DB, else "
                             "./support_agent.db)")


def open_store(value: str | None, err) -> CommerceBackend:
    """The backend `--store` names; a StoreError with one clear line when it is unusable."""
    from agent.cli import store_location

    where = store_location(value)
    if where.kind == "sqlite" and not where.path.exists():
        from fixtures import build_demo_store

        err.print(f"[dim]No store at {where.path}: creating the demo store…[/]")
        build_demo_store(where.path).close()
    backend = open_backend(where)
    if where.kind == "postgresql" and not has_customers(backend):
        err.print(f"[yellow]warning:[/] the PostgreSQL store {where.display()} is empty (not initialised): every "
                  f"customer will be unknown. Fill it first: support-agent init --store {where.display()}",
                  highlight=False, soft_wrap=True)
    return backend


def has_customers(backend: CommerceBackend) -> bool:
    """Whether the store holds any customer (a demo-schema store `init` never filled holds none)."""
    one = getattr(backend, "one", None)
    return one is None or one("SELECT 1 AS x FROM customers LIMIT 1") is not None
